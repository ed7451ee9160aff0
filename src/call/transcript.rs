//! One turn of the transcript, as saved in `conversations.transcript_history`.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Latency figures of an agent turn, in milliseconds from the end of the caller's speech.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TurnLatency {
    /// End of caller speech → final transcript.
    pub final_transcript_ms: Option<u64>,
    /// → LLM request sent.
    pub llm_request_ms: Option<u64>,
    /// → LLM first token.
    pub llm_first_token_ms: Option<u64>,
    /// → the answer's first clause complete (sent to TTS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_clause_ms: Option<u64>,
    /// → first TTS audio byte.
    pub tts_first_byte_ms: Option<u64>,
    /// → first audio frame sent to the caller.
    pub first_frame_ms: Option<u64>,
    /// Our own time: final transcript → LLM request, in microseconds.
    pub overhead_transcript_to_llm_us: Option<u64>,
    /// Our own time: first TTS byte → first frame out, in microseconds.
    pub overhead_tts_to_frame_us: Option<u64>,
    /// LLM rounds the answer took: 2 when the model called a tool and said nothing, so it
    /// was asked again with the tool's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_rounds: Option<u32>,
    /// The answer was asked for before the final transcript (`LLM_SPECULATE`) and the final
    /// confirmed the words: its LLM time overlapped the end of the caller's turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculated: Option<bool>,
}

/// Who said a turn. Saved as "ai" / "user" (other code and exports read those strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Speaker {
    #[serde(rename = "ai")]
    Agent,
    #[serde(rename = "user")]
    Caller,
}

#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
    pub timestamp: DateTime<Utc>,
    pub interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<TurnLatency>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speakers_keep_their_saved_names() {
        assert_eq!(serde_json::to_value(Speaker::Agent).unwrap(), "ai");
        assert_eq!(serde_json::to_value(Speaker::Caller).unwrap(), "user");
    }
}
