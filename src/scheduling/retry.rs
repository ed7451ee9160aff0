//! The retry policy: what happens to a lead after a call ends.

use chrono::{DateTime, Duration, Utc};

use super::CallingWindow;
use crate::domain::CallStatus;

/// A campaign's retry rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub no_answer_delay: Duration,
    pub busy_delay: Duration,
}

/// The lead's next step after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Someone answered: the conversation decides the outcome; no more calls.
    Done,
    /// Call again at this instant (already inside the calling window).
    RetryAt(DateTime<Utc>),
    /// Every allowed attempt was used.
    Exhausted,
    /// The number cannot be called (invalid, barred): no retry.
    Failed,
}

/// Decides what follows attempt number `attempt` (1-based) that ended with `status` at `now`.
/// `permanent` marks a failure that no retry can fix (e.g. Exotel refused the number).
pub fn next_step(
    status: CallStatus,
    permanent: bool,
    attempt: u32,
    policy: &RetryPolicy,
    window: &CallingWindow,
    now: DateTime<Utc>,
) -> NextStep {
    let delay = match status {
        CallStatus::Completed => return NextStep::Done,
        _ if permanent => return NextStep::Failed,
        CallStatus::Busy => policy.busy_delay,
        // No-answer, failed and canceled are retried after the no-answer delay.
        _ => policy.no_answer_delay,
    };
    if attempt >= policy.max_attempts {
        return NextStep::Exhausted;
    }
    NextStep::RetryAt(window.next_allowed(now + delay))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallingDays;

    fn setup() -> (RetryPolicy, CallingWindow, DateTime<Utc>) {
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
        // Thursday 2026-11-26 11:00 IST.
        let now = DateTime::parse_from_rfc3339("2026-11-26T05:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        (policy, window, now)
    }

    #[test]
    fn delays_by_status() {
        let (p, w, now) = setup();
        assert_eq!(
            next_step(CallStatus::Completed, false, 1, &p, &w, now),
            NextStep::Done
        );
        assert_eq!(
            next_step(CallStatus::NoAnswer, false, 1, &p, &w, now),
            NextStep::RetryAt(now + Duration::minutes(120))
        );
        assert_eq!(
            next_step(CallStatus::Busy, false, 2, &p, &w, now),
            NextStep::RetryAt(now + Duration::minutes(240))
        );
        assert_eq!(
            next_step(CallStatus::Failed, false, 1, &p, &w, now),
            NextStep::RetryAt(now + Duration::minutes(120))
        );
        assert_eq!(
            next_step(CallStatus::Failed, true, 1, &p, &w, now),
            NextStep::Failed
        );
    }

    #[test]
    fn retries_stop_at_max_attempts() {
        let (p, w, now) = setup();
        assert_eq!(
            next_step(CallStatus::NoAnswer, false, 3, &p, &w, now),
            NextStep::Exhausted
        );
        assert_eq!(
            next_step(CallStatus::Busy, false, 3, &p, &w, now),
            NextStep::Exhausted
        );
    }

    #[test]
    fn retries_move_into_the_next_window() {
        let (p, w, now) = setup();
        // 18:00 IST + 4 h busy delay = 22:00 → next day 10:00 IST.
        let evening = now + Duration::hours(7);
        let expected = DateTime::parse_from_rfc3339("2026-11-27T04:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            next_step(CallStatus::Busy, false, 1, &p, &w, evening),
            NextStep::RetryAt(expected)
        );
    }
}
