//! The session mirror: each live call's session written to Redis as `session:{call_sid}`
//! (the seed's "Redis or in-memory" state), for other nodes and outside tools to read.
//!
//! The call's actor stays the truth; the mirror is a copy, written off the call's path. A
//! call hands its latest snapshot to a `SessionMirror` (a short mutex, never an await); a
//! background writer (`redis_writer`) sends what changed every 200 ms in one pipeline. Redis
//! down: one warning, calls go on in memory, the writer retries and rewrites every live
//! session once Redis is back. Without `REDIS_URL` the handle does nothing.

mod book;
mod pending;
mod redis_writer;
pub mod snapshot;

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use pending::{Coalescer, Pending};
pub use snapshot::SessionSnapshot;

use crate::config::RedisSettings;
use crate::telemetry_metrics::names;

/// Most calls whose updates may wait for the writer at once (a node holds far fewer calls;
/// only a writer that is not running lets them pile up).
const MAX_WAITING_CALLS: usize = 10_000;

/// A cheap, cloneable handle: held by the `Engine`, used by every `CallActor`.
#[derive(Clone, Default)]
pub struct SessionMirror {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    settings: RedisSettings,
    waiting: Mutex<Coalescer>,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// 0 not tried yet, 1 up, 2 down.
    health: AtomicU8,
}

/// What this node's mirror has done so far (tests, operators' tools; `/metrics` has the
/// same figures for the whole process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorStats {
    /// Keys written or deleted in Redis.
    pub written: u64,
    /// Keys whose write failed (they are sent again).
    pub failed: u64,
    /// Updates given up: too many calls waiting, or too many deletions during an outage.
    pub dropped: u64,
    /// `None` before the first attempt; then whether the last one reached Redis.
    pub up: Option<bool>,
}

impl SessionMirror {
    /// The mirror `settings` ask for: a Redis writer's handle with `REDIS_URL`, a no-op
    /// without. The writer starts with `spawn_writer`.
    pub fn new(settings: &RedisSettings) -> SessionMirror {
        if settings.url.is_none() {
            return SessionMirror::default();
        }
        SessionMirror {
            shared: Some(Arc::new(Shared {
                settings: settings.clone(),
                waiting: Mutex::new(Coalescer::new(MAX_WAITING_CALLS)),
                counters: Counters::default(),
            })),
        }
    }

    /// Whether snapshots go anywhere: a call skips building them when not.
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Starts the background writer, which runs while `alive()` says the node does (its
    /// last flush then goes out).
    pub fn spawn_writer(&self, alive: impl Fn() -> bool + 'static) {
        if let Some(shared) = &self.shared {
            redis_writer::spawn(shared.clone(), alive);
        }
    }

    /// The call's session changed: `snapshot` replaces whatever of it is still waiting.
    pub fn publish(&self, snapshot: SessionSnapshot) {
        if let Some(shared) = &self.shared {
            let sid = snapshot.call_sid.clone();
            shared.put(&sid, Pending::Set(Box::new(snapshot)));
        }
    }

    /// The call is over (its conversation saved): its key is deleted at the next flush.
    pub fn ended(&self, call_sid: &str) {
        if let Some(shared) = &self.shared {
            shared.put(call_sid, Pending::Delete);
        }
    }

    pub fn stats(&self) -> Option<MirrorStats> {
        let c = &self.shared.as_ref()?.counters;
        Some(MirrorStats {
            written: c.written.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            up: match c.health.load(Ordering::Relaxed) {
                1 => Some(true),
                2 => Some(false),
                _ => None,
            },
        })
    }
}

impl Shared {
    fn put(&self, call_sid: &str, update: Pending) {
        // A poisoned lock only means a writer panicked mid-`take`: the map is still sound.
        let kept = self
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(call_sid, update);
        if !kept {
            self.dropped(1);
        }
    }

    fn take(&self) -> std::collections::HashMap<String, Pending> {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn dropped(&self, n: u64) {
        if n > 0 {
            self.counters.dropped.fetch_add(n, Ordering::Relaxed);
            metrics::counter!(names::SESSION_MIRROR_DROPPED).increment(n);
        }
    }

    fn written(&self, n: u64) {
        self.counters.written.fetch_add(n, Ordering::Relaxed);
        metrics::counter!(names::SESSION_MIRROR_WRITES, "result" => "ok").increment(n);
    }

    fn failed(&self, n: u64) {
        self.counters.failed.fetch_add(n, Ordering::Relaxed);
        metrics::counter!(names::SESSION_MIRROR_WRITES, "result" => "failed").increment(n);
    }

    fn set_up(&self, up: bool) {
        self.counters
            .health
            .store(if up { 1 } else { 2 }, Ordering::Relaxed);
        metrics::gauge!(names::SESSION_MIRROR_UP).set(if up { 1.0 } else { 0.0 });
    }
}

impl std::fmt::Debug for SessionMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shared {
            Some(s) => write!(f, "SessionMirror({:?})", s.settings),
            None => f.write_str("SessionMirror(off)"),
        }
    }
}
