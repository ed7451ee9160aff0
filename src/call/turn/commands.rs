//! What the turn-taking core asks the `CallActor` to do, in order.

use super::agent_turn::TurnTimes;
use crate::call::transcript::{Speaker, TurnLatency};
use crate::providers::openai::{ChatMessage, ToolCall};

/// A line the call can say without any provider: pre-rendered (`FallbackLines`), or, for the
/// apology only, synthesised at call start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Apology,
    OneMoment,
    TimeUp,
}

/// One output of the core.
#[derive(Debug)]
pub enum Command {
    /// Synthesise a clause (TTS).
    Speak {
        clause: u64,
        text: String,
    },
    /// Agent audio for the socket (`SocketCommand::Play`).
    Play {
        turn: u64,
        pcm: Vec<i16>,
    },
    /// A pre-rendered line for the socket, as audio of turn `turn`.
    PlayLine {
        turn: u64,
        line: Line,
    },
    /// Ask the socket to report when what was queued before it has played.
    Mark {
        clause: u64,
    },
    /// Hold: stop sending agent audio but keep what is queued.
    PauseAudio,
    /// The hold is over: carry on where it stopped.
    ResumeAudio,
    /// Barge-in: drop the agent's queued audio.
    ClearAudio,
    /// Our VAD heard the caller stop: ask the recogniser for its final now (Deepgram
    /// `Finalize`) rather than after its endpointing silence.
    FinalizeTranscript,
    /// The caller was not finished (they spoke again before hearing any of the answer): the
    /// last caller entry of the transcript is taken back; their words continue it.
    TakeBackCallerTurn,
    /// Ask the LLM (the actor puts the system prompt first).
    Generate {
        generation: u64,
        messages: Vec<ChatMessage>,
    },
    CancelGeneration,
    /// A speculative answer (`speculation`) was adopted as the turn's answer, or dropped
    /// unheard: for the metrics.
    SpeculationSettled {
        adopted: bool,
    },
    CancelSpeech,
    /// Run these tool calls and answer with `Event::ToolsApplied` at once.
    ApplyTools {
        calls: Vec<ToolCall>,
    },
    /// A transcript entry (the actor stamps it with the wall clock).
    Record {
        speaker: Speaker,
        text: String,
        interrupted: bool,
        latency: Option<TurnLatency>,
    },
    /// An agent turn ended: its timings, for metrics and the log.
    TurnEnded(TurnTimes),
    /// Close the call once the queued audio has played.
    HangUp,
    /// The call is over: write it down.
    Save,
    /// A provider refused us for good (a bad key, an empty quota): stop dialing this campaign.
    PauseCampaign {
        reason: String,
    },
}
