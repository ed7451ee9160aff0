//! Provider messages we could not read (not JSON, or a field we use of the wrong type): each is
//! dropped, counted in `voice_provider_unreadable_messages_total{provider}` and logged, the
//! first of a stream as a warning and the rest at debug, so a provider that changes its format
//! under us shows on a dashboard without flooding the log.
//!
//! Never with the message or serde's own error text: that quotes the offending value, and a
//! transcript or an answer holds what the caller said. Only the error's kind and column.

use super::error::Provider;
use crate::telemetry_metrics::names::PROVIDER_UNREADABLE;

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
        if self.seen == 1 {
            tracing::warn!(%provider, ?category, column, "a provider message could not be read; dropped");
        } else {
            tracing::debug!(%provider, ?category, column, seen = self.seen, "another provider message could not be read; dropped");
        }
    }
}
