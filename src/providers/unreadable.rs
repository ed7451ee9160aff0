//! Provider messages we could not read (not JSON, or a field we use of the wrong type): each is
//! dropped, counted in `voice_provider_unreadable_messages_total{provider}` and logged.
//!
//! A provider that changes its format under us breaks every stream at once, and OpenAI opens a
//! stream per turn: at 1,000 live calls a warning per stream would be hundreds a second. So a
//! provider gets at most one warning a minute in the whole process (in the span of the call it
//! happened in, saying how many were dropped since the last one); the rest go to debug. The
//! counter carries the rate.
//!
//! Never with the message or serde's own error text: that quotes the offending value, and a
//! transcript or an answer holds what the caller said. Only the error's kind and column.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use super::error::Provider;
use crate::telemetry_metrics::names::PROVIDER_UNREADABLE;

/// How often one provider's unreadable messages may be a warning.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Counts one stream's unreadable messages.
#[derive(Debug, Default)]
pub struct Unreadable {
    seen: u64,
}

impl Unreadable {
    /// Counts and logs one unreadable message.
    pub fn record(&mut self, provider: Provider, error: &serde_json::Error) {
        self.seen += 1;
        metrics::counter!(PROVIDER_UNREADABLE, "provider" => provider.as_str()).increment(1);
        let (category, column) = (error.classify(), error.column());
        match WARNINGS.admit(provider, Instant::now()) {
            Some(dropped_since_last) => tracing::warn!(
                %provider, ?category, column, dropped_since_last,
                "a provider message could not be read; dropped"
            ),
            None => tracing::debug!(
                %provider, ?category, column, seen_in_stream = self.seen,
                "another provider message could not be read; dropped"
            ),
        }
    }
}

static WARNINGS: LazyLock<WarningGate> = LazyLock::new(WarningGate::default);

/// Decides, per provider and for the whole process, which unreadable message is a warning.
#[derive(Debug, Default)]
struct WarningGate {
    /// Per provider: when its last warning was logged (`None`: never).
    last: [Mutex<Option<Instant>>; 3],
    /// Per provider: messages dropped without a warning since its last one.
    quiet: [AtomicU64; 3],
}

impl WarningGate {
    /// `Some(n)` when this message should be a warning, `n` being how many were dropped
    /// quietly since the last warning; `None` when it goes to debug.
    fn admit(&self, provider: Provider, now: Instant) -> Option<u64> {
        // Exhaustive: a new provider cannot be added without its slot.
        let i = match provider {
            Provider::Deepgram => 0,
            Provider::OpenAi => 1,
            Provider::ElevenLabs => 2,
        };
        let mut last = self.last[i].lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if now.saturating_duration_since(at) < WARN_EVERY => {
                self.quiet[i].fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.quiet[i].swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_a_minute_per_provider_with_the_count_in_between() {
        let gate = WarningGate::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let table = [
            // (provider, seconds, expected)
            (Provider::OpenAi, 0, Some(0)),
            (Provider::OpenAi, 1, None),
            (Provider::OpenAi, 59, None),
            // Another provider has its own minute.
            (Provider::Deepgram, 30, Some(0)),
            (Provider::OpenAi, 60, Some(2)),
            (Provider::OpenAi, 61, None),
            (Provider::Deepgram, 89, None),
            (Provider::Deepgram, 90, Some(1)),
            (Provider::OpenAi, 200, Some(1)),
        ];
        for (provider, s, expected) in table {
            assert_eq!(gate.admit(provider, at(s)), expected, "{provider} at {s} s");
        }
    }
}
