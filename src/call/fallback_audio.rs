//! Fallback audio: the lines a call must be able to say when a provider fails (the apology,
//! "one moment", the time-up line), rendered ahead of time so saying them depends on no
//! provider.
//!
//! Each playbook's three lines are rendered once per voice and sample rate through the TTS,
//! kept on disk (`FALLBACK_AUDIO_DIR`, one file per line named by a hash of what it sounds
//! like: `line_key`), loaded at start (`FallbackAudio::prepare`) and handed to each call
//! whose lines are ready (`CallSetup.fallback`). A line missing at start is rendered in the
//! background with retries; a call that starts before its lines are ready gets none.

mod disk;
mod line_key;
mod node;
mod render;

use std::sync::Arc;

pub use disk::DiskCache;
pub use line_key::{spoken_without_lead, LineKey, LineKind};
pub use node::{FallbackAudio, Readiness, RetryPolicy};
pub use render::{elevenlabs_renderer, Render};

/// One pre-rendered line: its text (for the transcript) and its audio at the call's rate.
#[derive(Debug, Clone)]
pub struct FallbackLine {
    pub text: String,
    pub pcm: Arc<[i16]>,
}

/// A playbook's fallback lines for one voice and sample rate.
#[derive(Debug, Clone)]
pub struct FallbackLines {
    /// Said when the call cannot go on (a provider failed for good).
    pub apology: FallbackLine,
    /// Said when the agent's answer is late (a slow first token).
    pub one_moment: FallbackLine,
    /// Said when the call reaches its time limit or the node's shutdown grace ends.
    pub time_up: FallbackLine,
}
