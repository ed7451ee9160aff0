//! Streaming clients for the AI providers, each against a configurable base URL so any
//! compatible server (a local LLM, the sandbox fakes) works: Deepgram (STT), OpenAI chat
//! completions (LLM), ElevenLabs (TTS). Wire formats: shared/specs/providers.md.

pub mod deadlines;
pub mod deepgram;
pub mod elevenlabs;
pub mod error;
pub mod openai;
pub mod sse;
