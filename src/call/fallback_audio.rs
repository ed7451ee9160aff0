//! Fallback audio: the lines a call must be able to say when a provider fails (the apology,
//! "one moment", the time-up line), rendered ahead of time so saying them depends on no
//! provider. (Stub: the on-disk cache that fills these is being built.)

use std::sync::Arc;

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
