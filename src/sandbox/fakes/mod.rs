//! Local fakes of the AI providers that speak their exact wire protocols: Deepgram's live
//! WebSocket, OpenAI's SSE chat completions (with a deterministic playbook-following brain),
//! ElevenLabs' HTTP audio stream. Speech travels as real audio in the sandbox voice
//! (`voice_codec`), so the fakes hear and speak like the real thing, with no side channel.

pub mod brain;
pub mod deepgram;
pub mod elevenlabs;
mod http;
pub mod knob_args;
pub mod knobs;
pub mod openai;
pub mod profile;

pub use knobs::Knobs;
pub use profile::ProfileName;
