//! The law's calling hours, a floor under every promotional campaign's own window.
//!
//! TRAI's TCCCPR 2018 allows promotional calls in India only 09:00–21:00 (`REGULATORY_HOURS`,
//! default `9-21`); transactional and service calls are not bound by it. The floor is read in
//! the campaign's time zone, every day. Checked twice: when a campaign's window is set (a window
//! that leaves the floor is refused) and at every dialing decision (a campaign stored before the
//! floor was set, or under a wider one, still never dials outside it).

use std::fmt;

/// Local hours `[start, end)`; a start later than the end crosses midnight, as campaign windows do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegulatoryHours {
    pub start: u32,
    pub end: u32,
}

impl RegulatoryHours {
    /// TRAI's promotional hours.
    pub const INDIA: RegulatoryHours = RegulatoryHours { start: 9, end: 21 };

    /// `9-21`: two whole hours, start in 0..=23, end in 1..=24, not equal.
    pub fn parse(raw: &str) -> Result<RegulatoryHours, String> {
        let expected =
            || format!("expected START-END in whole local hours, e.g. 9-21, not {raw:?}");
        let (a, b) = raw.trim().split_once('-').ok_or_else(expected)?;
        let start: u32 = a.trim().parse().map_err(|_| expected())?;
        let end: u32 = b.trim().parse().map_err(|_| expected())?;
        if start > 23 || !(1..=24).contains(&end) || start == end {
            return Err(expected());
        }
        Ok(RegulatoryHours { start, end })
    }

    /// Whether the campaign window `[start, end)` (local hours, may cross midnight) lies inside
    /// the floor. When it does not, names the first side that leaves it.
    pub fn check_window(&self, start: u32, end: u32) -> Result<(), WindowSide> {
        let floor = hour_mask(self.start, self.end);
        let outside = hour_mask(start, end) & !floor;
        if outside == 0 {
            return Ok(());
        }
        if floor & (1 << (start % 24)) == 0 {
            Err(WindowSide::Start)
        } else {
            Err(WindowSide::End)
        }
    }
}

impl fmt::Display for RegulatoryHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:00–{:02}:00", self.start, self.end)
    }
}

/// Which end of a campaign window leaves the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSide {
    Start,
    End,
}

/// Bit h set when local hour h (0–23) is inside `[start, end)`.
fn hour_mask(start: u32, end: u32) -> u32 {
    (0..24)
        .filter(|h| {
            if start < end {
                (start..end).contains(h)
            } else {
                *h >= start || *h < end
            }
        })
        .fold(0, |mask, h| mask | (1 << h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_hours_and_refuses_the_rest() {
        assert_eq!(RegulatoryHours::parse("9-21"), Ok(RegulatoryHours::INDIA));
        assert_eq!(
            RegulatoryHours::parse(" 0 - 24 "),
            Ok(RegulatoryHours { start: 0, end: 24 })
        );
        assert_eq!(
            RegulatoryHours::parse("22-6"),
            Ok(RegulatoryHours { start: 22, end: 6 })
        );
        for bad in [
            "",
            "9",
            "9-",
            "-21",
            "9-9",
            "24-3",
            "9-25",
            "nine-21",
            "9:00-21:00",
        ] {
            assert!(RegulatoryHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_inside_and_outside_the_floor() {
        let floor = RegulatoryHours::INDIA;
        let cases: [(u32, u32, Result<(), WindowSide>); 10] = [
            (10, 19, Ok(())),
            (9, 21, Ok(())),
            (12, 13, Ok(())),
            (8, 19, Err(WindowSide::Start)),
            (10, 22, Err(WindowSide::End)),
            (0, 24, Err(WindowSide::Start)),
            (9, 24, Err(WindowSide::End)),
            // Crossing midnight always leaves a day-time floor.
            (20, 10, Err(WindowSide::End)),
            (22, 2, Err(WindowSide::Start)),
            (21, 22, Err(WindowSide::Start)),
        ];
        for (start, end, expected) in cases {
            assert_eq!(floor.check_window(start, end), expected, "{start}-{end}");
        }
        let open = RegulatoryHours { start: 0, end: 24 };
        assert_eq!(open.check_window(22, 2), Ok(()));
        let night = RegulatoryHours { start: 20, end: 8 };
        assert_eq!(night.check_window(22, 2), Ok(()));
        assert_eq!(night.check_window(7, 9), Err(WindowSide::End));
    }
}
