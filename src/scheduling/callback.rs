//! Call-backs a lead asks for (`schedule_callback`): when one may be placed, and whether it
//! uses one of the lead's attempts.
//!
//! A call-back is honoured only in the future, inside the campaign's calling window (and the
//! regulatory floor under it), and within 14 days. The first two a lead asks for are free; later
//! ones count against `max_attempts`, so a lead who keeps saying "call me later" leaves the list
//! after at most `max_attempts + 2` calls. A time outside the window is refused rather than moved:
//! the agent offers a time inside it, instead of the lead being called when they did not agree to.

use chrono::{DateTime, Duration, Utc};

use super::CallingWindow;

/// Call-backs per lead that do not use one of its attempts.
pub const MAX_FREE_CALLBACKS: u32 = 2;
/// How far ahead a call-back may be.
pub const CALLBACK_HORIZON_DAYS: i64 = 14;

/// Where the lead stands when it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackUsage {
    /// Call-backs already granted free to this lead.
    pub free_used: u32,
    /// The attempt the lead is on now (1-based).
    pub attempt_number: u32,
    /// The campaign's `max_attempts`.
    pub max_attempts: u32,
}

/// What becomes of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackDecision {
    /// Call again at `at`; `free` when it does not use one of the lead's attempts.
    Granted {
        at: DateTime<Utc>,
        free: bool,
    },
    Refused(CallbackRefusal),
}

/// Why a call-back was refused (told to the LLM, which tells the lead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackRefusal {
    InThePast,
    OutsideWindow,
    TooFarAhead,
    /// Free call-backs and attempts are used up: this call is the lead's last.
    NoAttemptsLeft,
}

impl std::fmt::Display for CallbackRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallbackRefusal::InThePast => "that time has already passed; ask for a later time",
            CallbackRefusal::OutsideWindow => {
                "that time is outside our calling hours; offer a time inside them"
            }
            CallbackRefusal::TooFarAhead => {
                "call-backs can be at most 14 days ahead; offer an earlier time"
            }
            CallbackRefusal::NoAttemptsLeft => {
                "no further call can be scheduled for this lead; thank them and end the call"
            }
        })
    }
}

/// Decides a call-back asked for at `now` for the instant `asked`.
pub fn decide_callback(
    asked: DateTime<Utc>,
    now: DateTime<Utc>,
    window: &CallingWindow,
    usage: CallbackUsage,
) -> CallbackDecision {
    let refuse = CallbackDecision::Refused;
    if asked <= now {
        return refuse(CallbackRefusal::InThePast);
    }
    if asked > now + Duration::days(CALLBACK_HORIZON_DAYS) {
        return refuse(CallbackRefusal::TooFarAhead);
    }
    if !window.is_open(asked) {
        return refuse(CallbackRefusal::OutsideWindow);
    }
    if usage.free_used < MAX_FREE_CALLBACKS {
        return CallbackDecision::Granted {
            at: asked,
            free: true,
        };
    }
    // Attempts used so far, the current call included, not counting free call-backs.
    let counted = usage.attempt_number.saturating_sub(usage.free_used);
    if counted < usage.max_attempts {
        return CallbackDecision::Granted {
            at: asked,
            free: false,
        };
    }
    refuse(CallbackRefusal::NoAttemptsLeft)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallingDays;
    use crate::scheduling::RegulatoryHours;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_rule_table() {
        // Mon-Sat 10–21 IST under the 9–21 floor; now is Thursday 2026-11-26 11:00 IST.
        let window = CallingWindow {
            start_hour: 10,
            end_hour: 21,
            timezone: chrono_tz::Asia::Kolkata,
            days: CallingDays::parse("Mon-Sat").unwrap(),
            floor: Some(RegulatoryHours::INDIA),
        };
        let now = utc("2026-11-26T05:30:00Z");
        let tomorrow_6pm = utc("2026-11-27T12:30:00Z");
        let usage = |free_used, attempt_number| CallbackUsage {
            free_used,
            attempt_number,
            max_attempts: 3,
        };
        use CallbackDecision::*;
        use CallbackRefusal::*;
        let granted = |free| Granted {
            at: tomorrow_6pm,
            free,
        };
        let cases = [
            (
                "first call-back, tomorrow 18:00",
                tomorrow_6pm,
                usage(0, 1),
                granted(true),
            ),
            (
                "second is free too",
                tomorrow_6pm,
                usage(1, 2),
                granted(true),
            ),
            (
                "third counts: 1 of 3 attempts used",
                tomorrow_6pm,
                usage(2, 3),
                granted(false),
            ),
            (
                "fourth counts: 2 of 3 used",
                tomorrow_6pm,
                usage(2, 4),
                granted(false),
            ),
            (
                "attempts used up",
                tomorrow_6pm,
                usage(2, 5),
                Refused(NoAttemptsLeft),
            ),
            (
                "a time already past",
                utc("2026-11-26T05:00:00Z"),
                usage(0, 1),
                Refused(InThePast),
            ),
            ("exactly now", now, usage(0, 1), Refused(InThePast)),
            (
                "22:00 is after hours",
                utc("2026-11-27T16:30:00Z"),
                usage(0, 1),
                Refused(OutsideWindow),
            ),
            (
                "Sunday is not a calling day",
                utc("2026-11-29T06:30:00Z"),
                usage(0, 1),
                Refused(OutsideWindow),
            ),
            (
                "15 days ahead",
                utc("2026-12-11T06:30:00Z"),
                usage(0, 1),
                Refused(TooFarAhead),
            ),
            (
                "13 days ahead, Wednesday noon",
                utc("2026-12-09T06:30:00Z"),
                usage(0, 1),
                Granted {
                    at: utc("2026-12-09T06:30:00Z"),
                    free: true,
                },
            ),
        ];
        for (what, asked, usage, expected) in cases {
            assert_eq!(
                decide_callback(asked, now, &window, usage),
                expected,
                "{what}"
            );
        }
        // The floor holds even when the campaign's own window is wider (a transactional one is not).
        let wide = CallingWindow {
            start_hour: 8,
            end_hour: 23,
            ..window
        };
        let at_8_30 = utc("2026-11-27T03:00:00Z");
        assert_eq!(
            decide_callback(at_8_30, now, &wide, usage(0, 1)),
            Refused(OutsideWindow)
        );
        assert_eq!(
            decide_callback(at_8_30, now, &wide.without_floor(), usage(0, 1)),
            Granted {
                at: at_8_30,
                free: true
            }
        );
    }

    #[test]
    fn calls_per_lead_are_bounded() {
        // A lead that asks for a call-back on every call is called at most max_attempts + 2 times.
        let window = CallingWindow {
            start_hour: 0,
            end_hour: 24,
            timezone: chrono_tz::UTC,
            days: CallingDays::ALL,
            floor: None,
        };
        let now = utc("2026-11-26T05:30:00Z");
        for max_attempts in 1..=5 {
            let mut usage = CallbackUsage {
                free_used: 0,
                attempt_number: 1,
                max_attempts,
            };
            while let CallbackDecision::Granted { free, .. } =
                decide_callback(now + Duration::hours(1), now, &window, usage)
            {
                usage.free_used += u32::from(free);
                usage.attempt_number += 1;
            }
            assert_eq!(
                usage.attempt_number,
                max_attempts + 2,
                "max_attempts {max_attempts}"
            );
        }
    }
}
