//! The run's two calling windows, chosen from the clock at its start: one that is open for
//! hours (the campaign under test) and one that is shut for hours (a campaign that must not be
//! dialed at all). Both sit inside the legal 9–21 hours, in a fixed-offset zone where it is
//! now about noon, so the run neither depends on the host's time of day nor needs to be
//! marked transactional.

use chrono::{DateTime, Timelike, Utc};

/// A campaign's window as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowChoice {
    pub timezone: String,
    pub start_hour: u32,
    pub end_hour: u32,
}

impl WindowChoice {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "timezone": self.timezone, "calling_hours_start": self.start_hour,
            "calling_hours_end": self.end_hour, "calling_days": "Mon-Sun",
        })
    }
}

/// (open for at least 8 hours from `now`, shut for at least 8 hours from `now`).
pub fn choose(now: DateTime<Utc>) -> (WindowChoice, WindowChoice) {
    let timezone = noon_zone(now.hour());
    (
        WindowChoice {
            timezone: timezone.clone(),
            start_hour: 9,
            end_hour: 21,
        },
        WindowChoice {
            timezone,
            start_hour: 9,
            end_hour: 10,
        },
    )
}

/// The `Etc/GMT±N` zone whose local hour is 12 when UTC's is `utc_hour`. (POSIX-style names:
/// `Etc/GMT-5` is five hours *ahead* of UTC.)
fn noon_zone(utc_hour: u32) -> String {
    let offset = 12 - utc_hour as i32; // -11..=12, all valid Etc/GMT offsets
    match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallingDays;
    use crate::scheduling::CallingWindow;
    use chrono::TimeZone;

    fn window(w: &WindowChoice) -> CallingWindow {
        CallingWindow {
            start_hour: w.start_hour,
            end_hour: w.end_hour,
            timezone: w.timezone.parse().expect("a known zone"),
            days: CallingDays::parse("Mon-Sun").expect("days"),
            floor: None,
        }
    }

    #[test]
    fn the_open_window_stays_open_and_the_shut_one_shut_for_hours_at_any_hour() {
        for hour in 0..24 {
            for minute in [0, 59] {
                let now = Utc.with_ymd_and_hms(2026, 11, 26, hour, minute, 0).unwrap();
                let (open, shut) = choose(now);
                for later in [0, 60 * 8] {
                    let at = now + chrono::Duration::minutes(later);
                    assert!(
                        window(&open).is_open(at),
                        "{hour}:{minute} +{later}m {open:?}"
                    );
                    assert!(
                        !window(&shut).is_open(at),
                        "{hour}:{minute} +{later}m {shut:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn zone_names_follow_the_posix_sign() {
        let cases = [
            (12, "Etc/GMT"),
            (7, "Etc/GMT-5"),
            (15, "Etc/GMT+3"),
            (0, "Etc/GMT-12"),
            (23, "Etc/GMT+11"),
        ];
        for (hour, zone) in cases {
            assert_eq!(noon_zone(hour), zone);
        }
    }
}
