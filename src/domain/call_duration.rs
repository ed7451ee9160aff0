//! How long a call lasted, as reported by Exotel (a status callback or Call Details).
//!
//! Those numbers come from outside: a callback may say `"ConversationDuration": 10000000000000`
//! or `-5`. Doing date arithmetic with such a number panics (`DateTime - TimeDelta` overflows),
//! so every reported duration goes through this one type, clamped to what a call can last.

/// Seconds a call lasted, always within `0..=CallDuration::MAX_SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct CallDuration(i64);

impl CallDuration {
    /// Four hours: far beyond `MAX_CALL_DURATION_MINUTES`' own ceiling, so no real call is cut.
    pub const MAX_SECONDS: i64 = 14_400;

    /// Any reported number, clamped into range (negative → 0, huge → 4 h).
    pub fn clamped(seconds: i64) -> CallDuration {
        CallDuration(seconds.clamp(0, Self::MAX_SECONDS))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }

    /// As a `chrono` span; cannot overflow any date we handle.
    pub fn as_chrono(self) -> chrono::Duration {
        chrono::Duration::seconds(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_every_i64() {
        let cases = [
            (i64::MIN, 0),
            (-1, 0),
            (0, 0),
            (320, 320),
            (14_400, 14_400),
            (14_401, 14_400),
            (10_000_000_000_000, 14_400),
            (i64::MAX, 14_400),
        ];
        for (raw, want) in cases {
            assert_eq!(CallDuration::clamped(raw).seconds(), want, "{raw}");
        }
    }

    #[test]
    fn the_longest_duration_subtracts_from_now() {
        let now = chrono::Utc::now();
        let d = CallDuration::clamped(i64::MAX);
        assert!(now.checked_sub_signed(d.as_chrono()).is_some());
    }
}
