//! The mirror's writer: one task per node that takes the calls' latest snapshots every
//! `FLUSH_EVERY` and sends them to Redis in one pipeline (`SET key json EX ttl`, `DEL` of
//! ended calls). Nothing here is awaited by a call.
//!
//! Client: the `redis` crate's `ConnectionManager` (tokio): one multiplexed connection that
//! reconnects by itself after an I/O error. On top of it the writer keeps its own pace: while
//! Redis is down it tries again after 0.5 s, doubling to 5 s (no log per attempt: one warning
//! when Redis goes away, one line when it is back), and every live session is written again
//! once it is back, since a restarted Redis may have lost them.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

use super::book::{Batch, Book};
use super::Shared;

/// How often waiting snapshots go out: a reader sees a change within about this.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// One pipeline's deadline, connecting included: a Redis that hangs costs one warning, not a
/// stuck writer.
const WRITE_DEADLINE: Duration = Duration::from_secs(3);
/// First wait after a failed write, doubled up to `RETRY_MAX` while Redis stays away.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Ended calls whose deletion waits through an outage; past it their keys expire by TTL.
const MAX_DELETIONS_WAITING: usize = 10_000;

/// Where the writer stands with Redis; a change is logged once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    NotTried,
    Up,
    Down,
}

pub(super) fn spawn(shared: Arc<Shared>, alive: impl Fn() -> bool + 'static) {
    actix_rt::spawn(async move {
        let target = shared.settings.redacted_url().unwrap_or_default();
        let Some(conn) = connect(&shared) else {
            // `REDIS_URL` was checked at start; this is a client-side refusal of it.
            tracing::warn!(redis = %target, "session mirror: the Redis URL was refused; sessions stay in memory");
            shared.set_up(false);
            return;
        };
        let book = Book::new(&shared.settings.key_prefix, MAX_DELETIONS_WAITING);
        Writer {
            shared,
            conn,
            book,
            health: Health::NotTried,
            retry_at: None,
            retry_wait: RETRY_FIRST,
            target,
        }
        .run(alive)
        .await;
    });
}

/// A manager that connects on first use, so a Redis that is down at start delays nothing.
fn connect(shared: &Shared) -> Option<ConnectionManager> {
    let url = shared.settings.url.as_deref()?;
    let client = redis::Client::open(url).ok()?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        // Our own backoff paces the attempts; the manager's retries would only stack on it.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_lazy_with_config(client, config).ok()
}

struct Writer {
    shared: Arc<Shared>,
    conn: ConnectionManager,
    book: Book,
    health: Health,
    /// While Redis is down: no attempt before this.
    retry_at: Option<Instant>,
    retry_wait: Duration,
    /// `REDIS_URL` without its credentials, for the log.
    target: String,
}

impl Writer {
    async fn run(mut self, alive: impl Fn() -> bool) {
        let ttl = u64::from(self.shared.settings.session_ttl_seconds);
        // Live keys are renewed every third of their TTL, so a call that goes quiet for a
        // while (a long answer, a pause) keeps its key.
        let renew_every = Duration::from_secs((ttl / 3).max(1));
        let mut next_renewal = Instant::now() + renew_every;
        let mut every = tokio::time::interval(FLUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let last = !alive();
            let dropped = self.book.absorb(self.shared.take());
            self.shared.dropped(dropped);
            let now = Instant::now();
            if now >= next_renewal {
                self.book.rewrite_all();
                next_renewal = now + renew_every;
            }
            let waiting = self.retry_at.is_some_and(|at| now < at);
            if !waiting || last {
                self.flush(ttl).await;
            }
            if last {
                return;
            }
        }
    }

    /// Sends what Redis lacks; with nothing to send, a `PING` until Redis is known to be up
    /// (so a node with no call yet still says at start whether its mirror works).
    async fn flush(&mut self, ttl: u64) {
        let batch = self.book.batch();
        if batch.is_empty() && self.health == Health::Up {
            return;
        }
        let sent = tokio::time::timeout(WRITE_DEADLINE, write(&mut self.conn, &batch, ttl)).await;
        let result = match sent {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {WRITE_DEADLINE:?}")),
        };
        match result {
            Ok(()) => {
                self.book.written();
                self.shared.written(batch.keys());
                self.retry_at = None;
                self.retry_wait = RETRY_FIRST;
                self.became(Health::Up, None);
            }
            Err(error) => {
                self.shared.failed(batch.keys());
                self.retry_at = Some(Instant::now() + self.retry_wait);
                self.retry_wait = (self.retry_wait * 2).min(RETRY_MAX);
                self.became(Health::Down, Some(&error));
            }
        }
    }

    /// Logs a change of health, once: no line per failed flush while Redis stays away.
    fn became(&mut self, health: Health, error: Option<&str>) {
        let before = self.health;
        if before == health {
            return;
        }
        self.health = health;
        self.shared.set_up(health == Health::Up);
        let target = &self.target;
        let live_calls = self.book.live_calls();
        match (before, health) {
            (Health::NotTried, Health::Up) => {
                tracing::info!(redis = %target, "session mirror: writing live sessions to Redis")
            }
            (Health::Down, Health::Up) => {
                tracing::info!(redis = %target, live_calls, "session mirror: Redis is back; rewriting every live session");
                // It may have restarted empty, or expired keys while we could not renew them.
                self.book.rewrite_all();
            }
            _ => tracing::warn!(
                redis = %target,
                error = error.unwrap_or(""),
                live_calls,
                "session mirror: Redis unavailable; calls go on in memory, retrying"
            ),
        }
    }
}

/// One round trip: every `SET … EX` and one `DEL`, or a `PING` when there is nothing to send.
async fn write(conn: &mut ConnectionManager, batch: &Batch, ttl: u64) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for (key, json) in &batch.sets {
        pipe.cmd("SET")
            .arg(key)
            .arg(json)
            .arg("EX")
            .arg(ttl)
            .ignore();
    }
    if !batch.dels.is_empty() {
        pipe.cmd("DEL").arg(&batch.dels).ignore();
    }
    if pipe.is_empty() {
        pipe.cmd("PING").ignore();
    }
    pipe.exec_async(conn).await
}
