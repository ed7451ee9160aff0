//! Every deadline a provider stream has, in one place. A stream that stops producing — before
//! its first byte, between two chunks, or by running too long as a whole — ends with a
//! `ProviderErrorKind::Timeout`, so a `200 OK` followed by a stall can never leave a call
//! silent: the caller hears "one moment" or the apology instead (the call decides).

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use super::error::{Provider, ProviderError};

/// The deadlines of one provider's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamDeadlines {
    /// TCP/TLS connect (and, for Deepgram, the WebSocket upgrade).
    pub connect: Duration,
    /// From the request to its first body byte (the LLM's first token, the first PCM).
    pub first_byte: Duration,
    /// Longest gap between two chunks once the stream has started. For Deepgram: longest
    /// silence of results while audio is being sent (a watchdog; silence without audio is fine).
    pub idle: Duration,
    /// The whole stream (one completion, one clause). Unused for Deepgram (a call-long stream).
    pub total: Duration,
}

impl StreamDeadlines {
    /// OpenAI: a voice turn cannot wait longer than this for its words.
    pub const LLM: StreamDeadlines = StreamDeadlines {
        connect: Duration::from_secs(3),
        // Also the turn core's first-token deadline (one setting): no caller waits longer.
        first_byte: Duration::from_millis(3500),
        idle: Duration::from_secs(2),
        total: Duration::from_secs(20),
    };
    /// ElevenLabs, per clause.
    pub const TTS: StreamDeadlines = StreamDeadlines {
        connect: Duration::from_secs(3),
        first_byte: Duration::from_secs(3),
        idle: Duration::from_secs(2),
        total: Duration::from_secs(15),
    };
    /// Deepgram: connect, and the results watchdog (real Deepgram answers every second or so
    /// while it hears audio, even silence).
    pub const STT: StreamDeadlines = StreamDeadlines {
        connect: Duration::from_secs(5),
        first_byte: Duration::from_secs(5),
        idle: Duration::from_secs(10),
        total: Duration::MAX,
    };
}

/// Absolute deadlines of one request, started when it was sent: the wait for the response
/// headers counts against the first byte and the total.
#[derive(Debug, Clone, Copy)]
pub struct RequestClock {
    provider: Provider,
    deadlines: StreamDeadlines,
    first_by: Instant,
    total_by: Instant,
}

impl RequestClock {
    pub fn start(provider: Provider, deadlines: StreamDeadlines) -> RequestClock {
        let now = Instant::now();
        RequestClock {
            provider,
            deadlines,
            first_by: now + deadlines.first_byte,
            total_by: now.checked_add(deadlines.total).unwrap_or(far_future(now)),
        }
    }

    /// Waits for `fut` (the response headers) within the first-byte and total deadlines.
    pub async fn headers<F: std::future::Future>(
        &self,
        fut: F,
    ) -> Result<F::Output, ProviderError> {
        tokio::time::timeout_at(self.first_by.min(self.total_by), fut)
            .await
            .map_err(|_| {
                ProviderError::timeout(
                    self.provider,
                    format!("no response within {:?}", self.deadlines.first_byte),
                )
            })
    }

    /// Wraps a body stream: its first item within the first-byte deadline, each later one
    /// within the idle gap, all of it within the total. A passed deadline yields one
    /// `Timeout` error and ends the stream (dropping the body, which closes the request).
    pub fn body<S, T>(self, body: S) -> BoxStream<'static, Result<T, ProviderError>>
    where
        S: Stream<Item = Result<T, ProviderError>> + Unpin + Send + 'static,
        T: Send + 'static,
    {
        Box::pin(futures::stream::unfold(
            (Some(body), true),
            move |(body, first)| async move {
                let mut body = body?;
                let now = Instant::now();
                let (gap_by, what) = if first {
                    (self.first_by, "first byte")
                } else {
                    (now + self.deadlines.idle, "next chunk")
                };
                let (by, what) = if self.total_by < gap_by {
                    (self.total_by, "end of stream")
                } else {
                    (gap_by, what)
                };
                match tokio::time::timeout_at(by, body.next()).await {
                    Ok(Some(item)) => {
                        let failed = item.is_err();
                        Some((item, (if failed { None } else { Some(body) }, false)))
                    }
                    Ok(None) => None,
                    Err(_) => {
                        let limit = match what {
                            "first byte" => self.deadlines.first_byte,
                            "next chunk" => self.deadlines.idle,
                            _ => self.deadlines.total,
                        };
                        let error = ProviderError::timeout(
                            self.provider,
                            format!("no {what} within {limit:?}"),
                        );
                        Some((Err(error), (None, false)))
                    }
                }
            },
        ))
    }
}

fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::error::ProviderErrorKind::Timeout;

    fn deadlines() -> StreamDeadlines {
        StreamDeadlines {
            connect: Duration::from_secs(1),
            first_byte: Duration::from_millis(300),
            idle: Duration::from_millis(150),
            total: Duration::from_millis(1000),
        }
    }

    /// Items after the given delays, then the end.
    fn delayed(delays: &[u64]) -> impl Stream<Item = Result<u32, ProviderError>> + Unpin + Send {
        let delays: Vec<u64> = delays.to_vec();
        Box::pin(
            futures::stream::iter(delays.into_iter().enumerate()).then(|(i, ms)| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(i as u32)
            }),
        )
    }

    async fn run(delays: &[u64]) -> (usize, bool) {
        let clock = RequestClock::start(Provider::OpenAi, deadlines());
        let items: Vec<_> = clock.body(delayed(delays)).collect().await;
        let oks = items.iter().filter(|i| i.is_ok()).count();
        let timed_out = items
            .last()
            .is_some_and(|i| i.as_ref().is_err_and(|e| e.kind == Timeout));
        (oks, timed_out)
    }

    #[tokio::test]
    async fn each_deadline() {
        // (chunk delays in ms, items before the end, ends in a timeout); stalls are far past
        // their deadline so that a slow machine does not change the answer.
        let table: &[(&[u64], usize, bool)] = &[
            (&[10, 10, 10], 3, false),
            (&[900], 0, true),         // no first byte
            (&[10, 10, 900], 2, true), // a stall after the first bytes
        ];
        for (delays, ok, timeout) in table {
            assert_eq!(run(delays).await, (*ok, *timeout), "{delays:?}");
        }
        // Chunks 100 ms apart never break the idle gap, but the total ends them.
        let (oks, timed_out) = run(&[100; 40]).await;
        assert!(timed_out && oks < 40, "{oks} {timed_out}");
    }
}
