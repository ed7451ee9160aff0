//! Settling a dial in doubt: Exotel may or may not have placed it (a timeout after the request
//! was written, a 5xx, a 200 we could not read, or a process that died mid-dial). Pure: the
//! lookup's answer and the clock in, a decision out; the campaign actor does the I/O
//! (`src/actors/reconcile.rs`).
//!
//! The rules (issue 9): the attempt was counted when it became in doubt and stays counted; it is
//! never dialed again until settled. A call of ours in Exotel's list is adopted (and closed at
//! once if it already ended). An empty list proves nothing rang: the next attempt may go after a
//! short delay. A lookup that keeps failing is retried, and after the no-answer retry delay the
//! attempt is treated as a no-answer.

use chrono::{DateTime, Duration, Utc};

use super::{next_step, CallingWindow, NextStep, RetryPolicy};
use crate::domain::CallStatus;
use crate::telephony::exotel::{CallRef, ListedCall};

/// A dial in doubt, as the database has it.
#[derive(Debug, Clone, Copy)]
pub struct InDoubt {
    pub since: DateTime<Utc>,
    /// The ids we sent in `CustomField`.
    pub call_ref: CallRef,
}

/// What Exotel's call list said, already stripped of calls we know by their sid.
#[derive(Debug, Clone)]
pub enum Lookup {
    Listed(Vec<ListedCall>),
    Failed,
}

/// What to do with the dial.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// This call is ours: record its sid (and close it if it ended).
    Adopt(ListedCall),
    /// Nothing rang: the attempt ends as not placed, then `next`.
    NotPlaced { next: NextStep },
    /// Still unknown after the no-answer delay: a no-answer, then `next`.
    NoAnswer { next: NextStep },
    /// Ask Exotel again then.
    AskAgainAt(DateTime<Utc>),
}

/// The delays settling uses besides the retry policy's.
#[derive(Debug, Clone, Copy)]
pub struct SettleTiming {
    /// After a lookup that proves nothing rang, the next attempt may go this much later.
    pub not_placed_retry: Duration,
    /// After a failed lookup, ask again this much later.
    pub lookup_retry: Duration,
}

/// Decides the fate of attempt `attempt` (1-based) in doubt, at `now`.
pub fn settle(
    doubt: &InDoubt,
    attempt: u32,
    lookup: Lookup,
    policy: &RetryPolicy,
    window: &CallingWindow,
    now: DateTime<Utc>,
    timing: SettleTiming,
) -> Settlement {
    match lookup {
        Lookup::Listed(calls) => match ours(calls, &doubt.call_ref) {
            Some(call) => Settlement::Adopt(call),
            None => Settlement::NotPlaced {
                next: if attempt >= policy.max_attempts {
                    NextStep::Exhausted
                } else {
                    NextStep::RetryAt(window.next_allowed(now + timing.not_placed_retry))
                },
            },
        },
        Lookup::Failed if now >= doubt.since + policy.no_answer_delay => Settlement::NoAnswer {
            // As if the phone had rung unanswered when the doubt began.
            next: next_step(
                CallStatus::NoAnswer,
                false,
                attempt,
                policy,
                window,
                doubt.since,
            ),
        },
        Lookup::Failed => Settlement::AskAgainAt(now + timing.lookup_retry),
    }
}

/// The listed call that is this attempt: the one carrying our `CustomField`, else one without
/// any (a call to this number we cannot attribute is taken as ours: counting a call that did
/// not ring is safer than ringing twice). Calls carrying another attempt's ids are not ours.
fn ours(calls: Vec<ListedCall>, call_ref: &CallRef) -> Option<ListedCall> {
    let mut anonymous = None;
    for call in calls {
        match call.custom_field.as_deref().map(CallRef::decode) {
            Some(Some(r)) if r.scheduled_call_id == call_ref.scheduled_call_id => {
                return Some(call)
            }
            Some(Some(_)) => {}
            _ => {
                anonymous.get_or_insert(call);
            }
        }
    }
    anonymous
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallingDays;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn listed(sid: &str, custom: Option<&str>, status: CallStatus) -> ListedCall {
        ListedCall {
            sid: sid.into(),
            status: Some(status),
            custom_field: custom.map(String::from),
            duration_seconds: None,
            recording_url: None,
        }
    }

    #[test]
    fn decisions() {
        let policy = RetryPolicy {
            max_attempts: 3,
            no_answer_delay: Duration::minutes(120),
            busy_delay: Duration::minutes(240),
        };
        let window = CallingWindow {
            start_hour: 10,
            end_hour: 19,
            timezone: chrono_tz::Asia::Kolkata,
            days: CallingDays::parse("Mon-Sat").unwrap(),
            floor: None,
        };
        let since = at("2026-11-26T05:30:00Z"); // Thursday 11:00 IST
        let ours_ref = CallRef {
            campaign_id: 1,
            lead_id: 2,
            scheduled_call_id: 3,
            attempt: 1,
        };
        let doubt = InDoubt {
            since,
            call_ref: ours_ref,
        };
        let other = "c=1;l=2;s=99;a=2";
        let mine = ours_ref.encode();
        let soon = since + Duration::minutes(1);
        let late = since + Duration::minutes(121);
        let retry = Duration::seconds(60);
        let timing = SettleTiming {
            not_placed_retry: Duration::minutes(1),
            lookup_retry: retry,
        };
        use CallStatus::*;
        let cases: Vec<(&str, u32, Lookup, DateTime<Utc>, Settlement)> = vec![
            (
                "our CustomField wins over an anonymous call",
                1,
                Lookup::Listed(vec![
                    listed("anon", None, NoAnswer),
                    listed("mine", Some(&mine), Completed),
                ]),
                soon,
                Settlement::Adopt(listed("mine", Some(&mine), Completed)),
            ),
            (
                "an anonymous call to the number is taken as ours",
                1,
                Lookup::Listed(vec![listed("anon", None, InProgress)]),
                soon,
                Settlement::Adopt(listed("anon", None, InProgress)),
            ),
            (
                "another attempt's call is not ours: nothing rang for this one",
                1,
                Lookup::Listed(vec![listed("x", Some(other), Busy)]),
                soon,
                Settlement::NotPlaced {
                    next: NextStep::RetryAt(soon + Duration::minutes(1)),
                },
            ),
            (
                "an empty list lets the next attempt go soon",
                1,
                Lookup::Listed(vec![]),
                soon,
                Settlement::NotPlaced {
                    next: NextStep::RetryAt(soon + Duration::minutes(1)),
                },
            ),
            (
                "an empty list on the last attempt exhausts the lead (the attempt counted)",
                3,
                Lookup::Listed(vec![]),
                soon,
                Settlement::NotPlaced {
                    next: NextStep::Exhausted,
                },
            ),
            (
                "a failed lookup is asked again",
                1,
                Lookup::Failed,
                soon,
                Settlement::AskAgainAt(soon + retry),
            ),
            (
                "unknown past the no-answer delay is a no-answer",
                1,
                Lookup::Failed,
                late,
                Settlement::NoAnswer {
                    next: NextStep::RetryAt(since + Duration::minutes(120)),
                },
            ),
            (
                "a no-answer on the last attempt exhausts the lead",
                3,
                Lookup::Failed,
                late,
                Settlement::NoAnswer {
                    next: NextStep::Exhausted,
                },
            ),
        ];
        for (name, attempt, lookup, now, expected) in cases {
            let got = settle(&doubt, attempt, lookup, &policy, &window, now, timing);
            assert_eq!(got, expected, "{name}");
        }
    }
}
