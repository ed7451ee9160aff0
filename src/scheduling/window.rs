//! The calling window: local hours on calling days, in the campaign's time zone.
//!
//! A window that starts later than it ends crosses midnight (22 → 2); it belongs to the day it
//! starts on, so `Mon-Sat 22-2` includes Saturday 23:00 and Sunday 01:00 but not Sunday 23:00.
//! Local times that do not exist (the hour skipped when DST starts) move to the first instant
//! that does; ambiguous ones (the hour repeated when DST ends) take the earlier instant.
//! A `floor` (the law's hours, every day, same zone) narrows the window further: a call may be
//! placed only when both are open.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::RegulatoryHours;
use crate::config::CallingDays;

/// When a campaign may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingWindow {
    /// Local hour the window opens (0–23).
    pub start_hour: u32,
    /// Local hour it closes, exclusive (1–24); earlier than `start_hour` means the next day.
    pub end_hour: u32,
    pub timezone: Tz,
    pub days: CallingDays,
    /// The regulatory hours under this window; `None` for transactional campaigns.
    pub floor: Option<RegulatoryHours>,
}

/// How far ahead a window and its floor are searched for a common instant.
const SEARCH_STEPS: usize = 32;

impl CallingWindow {
    /// The earliest instant at or after `at` inside the window and its floor (`at` itself when
    /// it is inside). A window that never meets its floor (a row stored before the floor
    /// existed) answers eight days later, which is never open: it fails closed.
    pub fn next_allowed(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let Some(floor) = self.floor else {
            return self.own_next_allowed(at);
        };
        let floor = CallingWindow {
            start_hour: floor.start,
            end_hour: floor.end,
            timezone: self.timezone,
            days: CallingDays::ALL,
            floor: None,
        };
        // Invariant: no instant in [at, t) is inside both. Each step jumps to the next instant
        // inside one of them, so the first instant inside both is a fixed point.
        let mut t = at;
        for _ in 0..SEARCH_STEPS {
            let own = self.own_next_allowed(t);
            let both = floor.own_next_allowed(own);
            if both == own {
                return own;
            }
            t = both;
        }
        at + Duration::days(8)
    }

    /// The window's own next opening, ignoring the floor.
    fn own_next_allowed(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let today = at.with_timezone(&self.timezone).date_naive();
        // Yesterday's window may still be open (crossing midnight); a week ahead always has one.
        for offset in -1..=8 {
            let day = today + Duration::days(offset);
            if !self.days.contains(day.weekday()) {
                continue;
            }
            let (opens, closes) = self.bounds(day);
            if closes > at {
                return opens.max(at);
            }
        }
        // Unreachable with at least one calling day (CallingDays guarantees one); stay safe.
        at
    }

    /// Whether a call may be placed at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.next_allowed(at) == at
    }

    /// The same window without its floor (what the campaign itself asked for).
    pub fn without_floor(&self) -> CallingWindow {
        CallingWindow {
            floor: None,
            ..*self
        }
    }

    /// The UTC instants the window of local day `day` opens and closes.
    fn bounds(&self, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let opens = self.resolve(day, self.start_hour);
        let close_day = if self.end_hour <= self.start_hour || self.end_hour == 24 {
            day + Duration::days(1)
        } else {
            day
        };
        let closes = self.resolve(close_day, self.end_hour % 24);
        (opens, closes)
    }

    /// A local wall-clock hour as a UTC instant, with DST gaps and overlaps settled.
    fn resolve(&self, day: NaiveDate, hour: u32) -> DateTime<Utc> {
        let mut local =
            NaiveDateTime::new(day, NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
        // Gaps are at most a few hours long; step through one a quarter hour at a time.
        for _ in 0..24 {
            match self.timezone.from_local_datetime(&local) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
                LocalResult::None => local += Duration::minutes(15),
            }
        }
        Utc.from_utc_datetime(&local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: u32, end: u32, tz: Tz, days: &str) -> CallingWindow {
        CallingWindow {
            start_hour: start,
            end_hour: end,
            timezone: tz,
            days: CallingDays::parse(days).unwrap(),
            floor: None,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const IST: Tz = chrono_tz::Asia::Kolkata;

    #[test]
    fn inside_the_window_is_now() {
        let w = window(10, 19, IST, "Mon-Sat");
        // Thursday 2026-11-26 12:00 IST = 06:30 UTC.
        let at = utc("2026-11-26T06:30:00Z");
        assert_eq!(w.next_allowed(at), at);
        assert!(w.is_open(at));
    }

    #[test]
    fn before_and_after_hours() {
        let w = window(10, 19, IST, "Mon-Sat");
        // 08:00 IST → 10:00 IST the same day.
        assert_eq!(
            w.next_allowed(utc("2026-11-26T02:30:00Z")),
            utc("2026-11-26T04:30:00Z")
        );
        // 19:00 IST exactly is closed (end exclusive) → 10:00 next day.
        assert_eq!(
            w.next_allowed(utc("2026-11-26T13:30:00Z")),
            utc("2026-11-27T04:30:00Z")
        );
    }

    #[test]
    fn sunday_is_skipped() {
        let w = window(10, 19, IST, "Mon-Sat");
        // Saturday 2026-11-28 20:00 IST → Monday 2026-11-30 10:00 IST.
        assert_eq!(
            w.next_allowed(utc("2026-11-28T14:30:00Z")),
            utc("2026-11-30T04:30:00Z")
        );
        // Sunday noon → Monday 10:00.
        assert_eq!(
            w.next_allowed(utc("2026-11-29T06:30:00Z")),
            utc("2026-11-30T04:30:00Z")
        );
    }

    #[test]
    fn window_crossing_midnight_belongs_to_its_start_day() {
        let w = window(22, 2, IST, "Mon-Sat");
        // Saturday 23:00 IST is open.
        let sat_late = utc("2026-11-28T17:30:00Z");
        assert!(w.is_open(sat_late));
        // Sunday 01:00 IST: Saturday's window is still open.
        let sun_early = utc("2026-11-28T19:30:00Z");
        assert!(w.is_open(sun_early));
        // Sunday 03:00 IST → Monday 22:00 IST (Sunday's own window does not exist).
        assert_eq!(
            w.next_allowed(utc("2026-11-28T21:30:00Z")),
            utc("2026-11-30T16:30:00Z")
        );
        // Thursday 12:00 → Thursday 22:00.
        assert_eq!(
            w.next_allowed(utc("2026-11-26T06:30:00Z")),
            utc("2026-11-26T16:30:00Z")
        );
    }

    #[test]
    fn whole_day_window() {
        let w = window(0, 24, IST, "Mon-Sun");
        let at = utc("2026-11-29T18:29:00Z");
        assert_eq!(w.next_allowed(at), at);
    }

    #[test]
    fn dst_spring_forward_gap() {
        // New York, 2026-03-08: 02:00 local does not exist; clocks jump to 03:00 (07:00 UTC).
        let w = window(2, 5, chrono_tz::America::New_York, "Mon-Sun");
        assert_eq!(
            w.next_allowed(utc("2026-03-08T05:00:00Z")),
            utc("2026-03-08T07:00:00Z")
        );
        // The window then closes at 05:00 EDT = 09:00 UTC.
        assert!(w.is_open(utc("2026-03-08T08:59:00Z")));
        assert!(!w.is_open(utc("2026-03-08T09:00:00Z")));
    }

    #[test]
    fn dst_fall_back_overlap() {
        // New York, 2026-11-01: 01:00 local happens twice; the window opens at the first (05:00 UTC).
        let w = window(1, 3, chrono_tz::America::New_York, "Mon-Sun");
        assert_eq!(
            w.next_allowed(utc("2026-11-01T03:00:00Z")),
            utc("2026-11-01T05:00:00Z")
        );
        // 03:00 EST = 08:00 UTC: the window lasted three real hours that night.
        assert!(w.is_open(utc("2026-11-01T07:59:00Z")));
        assert!(!w.is_open(utc("2026-11-01T08:00:00Z")));
    }

    #[test]
    fn result_is_never_before_the_request() {
        let w = window(9, 18, chrono_tz::Europe::London, "Mon-Fri");
        let mut at = utc("2026-03-27T00:00:00Z");
        for _ in 0..500 {
            let next = w.next_allowed(at);
            assert!(next >= at);
            assert!(w.is_open(next));
            at += Duration::minutes(47);
        }
    }

    #[test]
    fn the_floor_narrows_the_window() {
        let floor = Some(RegulatoryHours::INDIA);
        // A stored 08–22 window under 09–21: 08:30 IST waits for 09:00, 21:00 is closed.
        let w = CallingWindow {
            floor,
            ..window(8, 22, IST, "Mon-Sat")
        };
        assert_eq!(
            w.next_allowed(utc("2026-11-26T03:00:00Z")),
            utc("2026-11-26T03:30:00Z")
        );
        assert!(w.is_open(utc("2026-11-26T15:29:00Z")));
        assert!(!w.is_open(utc("2026-11-26T15:30:00Z")));
        // Saturday 21:30 IST → Monday 09:00 IST (Sunday is not a calling day).
        assert_eq!(
            w.next_allowed(utc("2026-11-28T16:00:00Z")),
            utc("2026-11-30T03:30:00Z")
        );
        // Without the floor the stored window would have opened at 08:00.
        assert_eq!(
            w.without_floor().next_allowed(utc("2026-11-26T02:00:00Z")),
            utc("2026-11-26T02:30:00Z")
        );
    }

    #[test]
    fn a_window_that_never_meets_its_floor_is_closed() {
        let w = CallingWindow {
            floor: Some(RegulatoryHours::INDIA),
            ..window(22, 2, IST, "Mon-Sun")
        };
        let at = utc("2026-11-26T17:30:00Z");
        assert!(!w.is_open(at));
        assert!(w.next_allowed(at) > at + Duration::days(7));
    }
}
