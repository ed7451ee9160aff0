//! The days of the week calls may be placed on, e.g. `Mon-Sat` or `Mon,Wed,Fri`.

use chrono::Weekday;
use serde::{Deserialize, Serialize};

/// A set of weekdays, stored as a 7-bit mask (bit 0 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingDays(u8);

const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl CallingDays {
    pub const ALL: CallingDays = CallingDays(0x7f);

    /// Accepts comma-separated days and ranges (`Mon-Fri,Sun`), any case, full or short names.
    /// A range may wrap the week (`Sat-Mon`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut mask = 0u8;
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (day_index(a)?, day_index(b)?),
                None => (day_index(part)?, day_index(part)?),
            };
            let mut day = first;
            loop {
                mask |= 1 << day;
                if day == last {
                    break;
                }
                day = (day + 1) % 7;
            }
        }
        if mask == 0 {
            return Err("expected at least one day, e.g. Mon-Sat".into());
        }
        Ok(CallingDays(mask))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// A canonical comma list (`Mon,Tue,Wed`), the form stored in the database.
    pub fn canonical(self) -> String {
        (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| NAMES[i])
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn day_index(raw: &str) -> Result<usize, String> {
    let lower = raw.trim().to_ascii_lowercase();
    NAMES
        .iter()
        .position(|n| lower.len() >= 3 && n.to_ascii_lowercase().starts_with(&lower[..3]))
        .filter(|_| {
            let full = [
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ];
            full.iter().any(|f| f.starts_with(&lower))
        })
        .ok_or_else(|| format!("unknown day {raw:?}; use Mon, Tue, … Sun"))
}

impl Serialize for CallingDays {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for CallingDays {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        CallingDays::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_lists_and_wraps() {
        assert_eq!(
            CallingDays::parse("Mon-Sat").unwrap().canonical(),
            "Mon,Tue,Wed,Thu,Fri,Sat"
        );
        assert_eq!(
            CallingDays::parse("monday, WED,fri").unwrap().canonical(),
            "Mon,Wed,Fri"
        );
        assert_eq!(
            CallingDays::parse("Sat-Mon").unwrap().canonical(),
            "Mon,Sat,Sun"
        );
        assert!(!CallingDays::parse("Mon-Sat")
            .unwrap()
            .contains(Weekday::Sun));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in ["", "Funday", "Mo", "Mon-Xyz", ","] {
            assert!(CallingDays::parse(bad).is_err(), "{bad}");
        }
    }
}
