//! How often a call's child (STT, LLM, TTS) may fail before the call gives up: a sliding
//! window (e.g. 3 restarts in 60 s) with exponential backoff before the work is tried again.
//! Permanent provider errors (401/403, quota) are not restarts at all: the core gives up on
//! the first one (see `failures`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts tolerated within `window`; one more gives up.
    pub max_restarts: usize,
    pub window: Duration,
    /// The wait before the first retry; doubled for each restart still in the window.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> RestartPolicy {
        RestartPolicy {
            max_restarts: 3,
            window: Duration::from_secs(60),
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// What to do about one more failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    /// Try again after this long.
    Restart { after: Duration },
    /// Too many failures in the window.
    GiveUp,
}

/// One child's recent restarts.
#[derive(Debug, Clone)]
pub struct RestartWindow {
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
}

impl RestartWindow {
    pub fn new(policy: RestartPolicy) -> RestartWindow {
        RestartWindow {
            policy,
            recent: VecDeque::new(),
        }
    }

    /// A failure at `now`.
    pub fn record(&mut self, now: Instant) -> RestartDecision {
        self.forget_before(now);
        self.recent.push_back(now);
        if self.recent.len() > self.policy.max_restarts {
            return RestartDecision::GiveUp;
        }
        RestartDecision::Restart {
            after: self.backoff(),
        }
    }

    /// The wait before retrying, given the restarts in the window.
    pub fn backoff(&self) -> Duration {
        let doublings = self.recent.len().saturating_sub(1).min(16) as u32;
        (self.policy.base_backoff * 2u32.pow(doublings)).min(self.policy.max_backoff)
    }

    /// Restarts within the window at `now`.
    pub fn count(&self) -> usize {
        self.recent.len()
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some(&first) = self.recent.front() {
            if now.saturating_duration_since(first) >= self.policy.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn restarts_within_the_window_back_off_then_give_up() {
        use RestartDecision::*;
        // Failures at these offsets (s) and what each decides.
        let cases: &[(&str, &[u64], &[RestartDecision])] = &[
            ("one", &[0], &[Restart { after: ms(250) }]),
            (
                "three fast ones double the wait",
                &[0, 1, 2],
                &[
                    Restart { after: ms(250) },
                    Restart { after: ms(500) },
                    Restart { after: ms(1000) },
                ],
            ),
            (
                "a fourth within 60 s gives up",
                &[0, 1, 2, 59],
                &[
                    Restart { after: ms(250) },
                    Restart { after: ms(500) },
                    Restart { after: ms(1000) },
                    GiveUp,
                ],
            ),
            (
                "old failures leave the window (60 s old is out)",
                &[0, 1, 2, 61],
                &[
                    Restart { after: ms(250) },
                    Restart { after: ms(500) },
                    Restart { after: ms(1000) },
                    Restart { after: ms(500) },
                ],
            ),
            (
                "spread out, never gives up",
                &[0, 60, 120, 180, 240],
                &[Restart { after: ms(250) }; 5],
            ),
        ];
        for (name, at, want) in cases {
            let t0 = Instant::now();
            let mut w = RestartWindow::new(RestartPolicy::default());
            let got: Vec<_> = at
                .iter()
                .map(|s| w.record(t0 + Duration::from_secs(*s)))
                .collect();
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn the_backoff_is_capped() {
        let policy = RestartPolicy {
            max_restarts: 10,
            ..RestartPolicy::default()
        };
        let t0 = Instant::now();
        let mut w = RestartWindow::new(policy);
        let mut last = RestartDecision::GiveUp;
        for i in 0..8 {
            last = w.record(t0 + ms(i));
        }
        assert_eq!(last, RestartDecision::Restart { after: ms(2000) });
        assert_eq!(w.count(), 8);
    }
}
