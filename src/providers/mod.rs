//! Streaming clients for the AI providers, each against a configurable base URL so any
//! compatible server (a local LLM, the sandbox fakes) works: Deepgram (STT), OpenAI chat
//! completions (LLM), ElevenLabs (TTS). Wire formats: shared/specs/providers.md.

pub mod deadlines;
pub mod deepgram;
pub mod elevenlabs;
pub mod error;
pub mod openai;
pub mod sse;
pub mod unreadable;

/// How long a pooled HTTP connection may sit idle: longer than `KEEP_WARM_EVERY`, so a kept
/// warm connection is never closed under a call.
pub const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(90);

/// How often the process-wide clients touch their providers to keep a connection open.
pub const KEEP_WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
