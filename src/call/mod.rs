//! The live call: `CallActor` (turn-taking, session state) supervising `SttActor`,
//! `LlmActor` and `TtsActor`; clause splitting, the tools the LLM may call, the transcript.

pub mod call_actor;
pub mod clauses;
pub mod fallback_audio;
pub mod greeting_audio;
pub mod handoff;
pub mod llm_actor;
pub mod machine_detection;
pub mod messages;
pub mod outcome;
pub mod providers;
pub mod recovery;
pub mod save;
pub mod spool;
pub mod stt_actor;
pub mod template_vars;
pub mod tools;
pub mod transcript;
pub mod tts_actor;
pub mod turn;
pub mod verdict;

pub use call_actor::CallActor;
pub use providers::CallProviders;
