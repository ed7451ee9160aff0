//! Each turn's figures for `/metrics`: turn latency, each provider's time to first byte, and
//! the runtime's own overhead between them.

use std::time::Instant;

use crate::call::turn::TurnTimes;

/// Per-turn figures for `/metrics`.
pub(super) fn record_turn_metrics(turn: &TurnTimes) {
    use crate::telemetry_metrics::names;
    let secs = |a: Option<Instant>, b: Option<Instant>| {
        Some(b?.saturating_duration_since(a?).as_secs_f64())
    };
    if let Some(s) = secs(turn.speech_end.or(turn.final_at), turn.first_frame_at) {
        metrics::histogram!(names::TURN_LATENCY).record(s);
    }
    if let Some(s) = secs(turn.llm_request_at, turn.first_token_at) {
        metrics::histogram!(names::PROVIDER_TTFB, "provider" => "openai").record(s);
    }
    if let Some(s) = secs(turn.first_token_at, turn.tts_first_at) {
        metrics::histogram!(names::PROVIDER_TTFB, "provider" => "elevenlabs").record(s);
    }
    if let Some(s) = secs(turn.speech_end, turn.final_at) {
        metrics::histogram!(names::PROVIDER_TTFB, "provider" => "deepgram").record(s);
    }
    if let Some(s) = secs(turn.final_at, turn.llm_request_at) {
        metrics::histogram!(names::RUNTIME_OVERHEAD, "stage" => "transcript_to_llm").record(s);
    }
    if let Some(s) = secs(turn.tts_first_at, turn.first_frame_at) {
        metrics::histogram!(names::RUNTIME_OVERHEAD, "stage" => "tts_to_frame").record(s);
    }
}
