//! Prometheus metrics (`GET /metrics`), through the `metrics` facade and its Prometheus
//! exporter. The recorder is process-wide, so it is installed once however many apps a process
//! (a test binary) starts.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, in seconds: telephony cares about tens of milliseconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's metrics handle (installing the recorder on first use).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .as_ref()
}

/// Names of the metrics, in one place so dashboards and code agree.
pub mod names {
    pub const LIVE_CALLS: &str = "voice_live_calls";
    pub const CALLS: &str = "voice_calls_total";
    pub const RESTARTS: &str = "voice_actor_restarts_total";
    pub const AUDIO_DROPPED: &str = "voice_audio_dropped_total";
    pub const PROVIDER_TTFB: &str = "voice_provider_first_byte_seconds";
    pub const TURN_LATENCY: &str = "voice_turn_latency_seconds";
    pub const RUNTIME_OVERHEAD: &str = "voice_runtime_overhead_seconds";
    pub const DIALS: &str = "voice_dials_total";
    pub const WEBHOOKS: &str = "voice_webhooks_total";
    pub const DB_QUERY: &str = "voice_db_query_seconds";
    pub const NODE_TOKENS_FREE: &str = "voice_node_tokens_available";
    pub const ACTORS: &str = "voice_actors";
    /// Provider messages dropped because they could not be read (not JSON, or a field we use
    /// of the wrong type), by `provider`.
    pub const PROVIDER_UNREADABLE: &str = "voice_provider_unreadable_messages_total";
    /// Answers dropped unheard (or just begun) because the caller went on speaking.
    pub const ANSWERS_TAKEN_BACK: &str = "voice_answers_taken_back_total";
    /// Speculative answers (`LLM_SPECULATE`) by `result`: `adopted` or `dropped` unheard.
    pub const SPECULATIONS: &str = "voice_speculations_total";
    /// Calls by how ready their greeting (synthesised while the phone rang) was at `start`:
    /// `ready`, `rendering` or `missing`.
    pub const GREETING_AUDIO: &str = "voice_greeting_audio_total";
    /// Session mirror (`REDIS_URL`): keys written or deleted in Redis, by `result` (`ok`, or
    /// `failed`: sent again later).
    pub const SESSION_MIRROR_WRITES: &str = "voice_session_mirror_writes_total";
    /// Session mirror updates given up (too many calls waiting for the writer, or deletions
    /// beyond what an outage keeps: those keys expire by their TTL).
    pub const SESSION_MIRROR_DROPPED: &str = "voice_session_mirror_dropped_total";
    /// 1 while the last write reached Redis, 0 while it is unavailable.
    pub const SESSION_MIRROR_UP: &str = "voice_session_mirror_up";
}

/// The kinds of per-call actor counted by `voice_actors{kind=…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Call,
    Stt,
    Llm,
    Tts,
    Socket,
}

impl ActorKind {
    pub const ALL: [ActorKind; 5] = [
        ActorKind::Call,
        ActorKind::Stt,
        ActorKind::Llm,
        ActorKind::Tts,
        ActorKind::Socket,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Call => "call",
            ActorKind::Stt => "stt",
            ActorKind::Llm => "llm",
            ActorKind::Tts => "tts",
            ActorKind::Socket => "socket",
        }
    }

    fn slot(self) -> &'static std::sync::atomic::AtomicI64 {
        static LIVE: [std::sync::atomic::AtomicI64; 5] =
            [const { std::sync::atomic::AtomicI64::new(0) }; 5];
        &LIVE[self as usize]
    }
}

/// Sets every kind's gauge from the live counts (so a kind never started shows 0); called
/// by `GET /metrics` before rendering.
pub fn publish_live_actors() {
    for kind in ActorKind::ALL {
        metrics::gauge!(names::ACTORS, "kind" => kind.as_str()).set(live_actors(kind) as f64);
    }
}

/// Actors of this kind alive in this process right now.
pub fn live_actors(kind: ActorKind) -> i64 {
    kind.slot().load(std::sync::atomic::Ordering::SeqCst)
}

/// Counts one live actor in `voice_actors{kind}` (published at each scrape) for as long as it is held: a field of the
/// actor's struct, so it is counted from construction to drop. A supervised child keeps its
/// struct across restarts, so it is counted once however often it restarts.
#[derive(Debug)]
pub struct LiveActor(ActorKind);

impl LiveActor {
    pub fn new(kind: ActorKind) -> LiveActor {
        kind.slot()
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        LiveActor(kind)
    }
}

impl Drop for LiveActor {
    fn drop(&mut self) {
        self.0
            .slot()
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
