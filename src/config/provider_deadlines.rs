//! The provider stream deadlines' variables (`*_TIMEOUT_MS`), read into
//! `providers::deadlines::StreamDeadlines` per provider.

use std::time::Duration;

use super::{ConfigError, Env};
use crate::providers::deadlines::StreamDeadlines;

fn ms(env: &Env, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    let default = u32::try_from(default.as_millis()).unwrap_or(u32::MAX);
    Ok(Duration::from_millis(u64::from(env.number(
        var,
        default,
        100..=600_000,
    )?)))
}

pub(super) fn openai(env: &Env) -> Result<StreamDeadlines, ConfigError> {
    let d = StreamDeadlines::LLM;
    Ok(StreamDeadlines {
        connect: ms(env, "OPENAI_CONNECT_TIMEOUT_MS", d.connect)?,
        first_byte: ms(env, "OPENAI_FIRST_TOKEN_TIMEOUT_MS", d.first_byte)?,
        idle: ms(env, "OPENAI_IDLE_TIMEOUT_MS", d.idle)?,
        total: ms(env, "OPENAI_TOTAL_TIMEOUT_MS", d.total)?,
    })
}

pub(super) fn elevenlabs(env: &Env) -> Result<StreamDeadlines, ConfigError> {
    let d = StreamDeadlines::TTS;
    Ok(StreamDeadlines {
        connect: ms(env, "ELEVENLABS_CONNECT_TIMEOUT_MS", d.connect)?,
        first_byte: ms(env, "ELEVENLABS_FIRST_BYTE_TIMEOUT_MS", d.first_byte)?,
        idle: ms(env, "ELEVENLABS_IDLE_TIMEOUT_MS", d.idle)?,
        total: ms(env, "ELEVENLABS_TOTAL_TIMEOUT_MS", d.total)?,
    })
}

pub(super) fn deepgram(env: &Env) -> Result<StreamDeadlines, ConfigError> {
    let d = StreamDeadlines::STT;
    let connect = ms(env, "DEEPGRAM_CONNECT_TIMEOUT_MS", d.connect)?;
    Ok(StreamDeadlines {
        connect,
        first_byte: connect,
        idle: ms(env, "DEEPGRAM_RESULTS_TIMEOUT_MS", d.idle)?,
        total: d.total,
    })
}
