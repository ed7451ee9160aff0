//! The turn-taking core of a live call: a sans-IO state machine in the style of quinn-proto
//! and str0m. Events and the clock go in ([`TurnTaking::handle`] with an `Instant`), commands
//! come out (speak, play, pause/resume/clear the agent's audio, generate, cancel, hang up,
//! save, pause the campaign). No actix, no tokio, no IO: the `CallActor` feeds it and carries
//! out what it asks, and the rules are tested here by table on a fake clock.
//!
//! The rules, by file:
//! - `pickup`: the greeting waits for the callee's "Hello?" (or ~1 s of silence), and the
//!   greeting's first second is not interrupted by short speech;
//! - `barge_in`: speech over the agent holds (pauses) its audio; words clear it, a
//!   back-channel, noise or silence resumes it;
//! - `listening`: a caller's turn ends on the recogniser's `speech_final`/`UtteranceEnd`, our
//!   VAD only as a late fallback;
//! - `continuation`: our VAD's silence asks the recogniser to `Finalize` at once; a caller
//!   who goes on before hearing the answer (or just after it began) continues their turn;
//! - `speculation`: the LLM starts on the caller's words when they stop, before the final;
//!   its answer is held until the final confirms the words, and dropped if they changed;
//! - `answer`: the LLM's answers and tool rounds; a retry never repeats what was heard;
//! - `agent_turn`: what the agent is saying and our own playout clock (a lost `mark` never
//!   wedges a turn), and what the caller heard of it;
//! - `failures` and `restart`: one-moment line, retry once, polite close, restart windows,
//!   permanent provider errors;
//! - `voicemail`: a machine answered: wait for the beep, leave the message, hang up.

mod agent_turn;
mod answer;
mod barge_in;
mod commands;
mod config;
mod continuation;
mod core;
mod events;
mod failures;
mod listening;
mod pickup;
pub mod restart;
mod speculation;
mod voicemail;

#[cfg(test)]
mod tests;

pub use self::agent_turn::TurnTimes;
pub use self::commands::{Command, Line};
pub use self::config::{Lines, Prerendered, Timing, TurnConfig};
pub use self::core::{Stage, TurnTaking};
pub use self::events::Event;
