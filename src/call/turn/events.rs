//! What the turn-taking core hears about: the caller (VAD and transcripts), the children (LLM,
//! TTS), the socket (marks, frames out, close), the machine detector and the clock.

use std::time::Duration;

use crate::call::machine_detection::MachineEvent;
use crate::call::messages::Child;
use crate::providers::error::ProviderError;
use crate::providers::openai::LlmDelta;

/// One input of the core. The time of each is the `now` given with it.
#[derive(Debug)]
pub enum Event {
    /// The media stream started: the callee picked up.
    Start,
    /// Our VAD heard the caller start speaking, after `after_silence` of silence in their
    /// audio (`None`: not measured). Counted in samples, so frames that arrive late or in a
    /// burst (network jitter, a busy machine) do not stretch a breath into a pause.
    SpeechStarted {
        after_silence: Option<Duration>,
    },
    /// Our VAD heard the caller stop (its hang-over already subtracted by the caller of
    /// `handle`: `now` is when the speech ended).
    SpeechEnded,
    /// A transcript that may still change.
    Interim(String),
    /// Words that will not change; `speech_final` when the recogniser's endpointing says the
    /// speaker paused (end of turn).
    Final {
        text: String,
        speech_final: bool,
        /// The answer to `Command::FinalizeTranscript`: the caller's words so far, flushed.
        from_finalize: bool,
    },
    /// The recogniser saw the end of an utterance (Deepgram `UtteranceEnd`): end of turn.
    UtteranceEnd,
    /// The caller pressed a key.
    Dtmf(String),
    LlmDelta {
        generation: u64,
        delta: LlmDelta,
    },
    LlmDone {
        generation: u64,
    },
    LlmFailed {
        generation: u64,
        error: ProviderError,
    },
    /// Synthesised audio of a clause (PCM16 at the call's rate).
    TtsAudio {
        clause: u64,
        pcm: Vec<i16>,
    },
    TtsDone {
        clause: u64,
    },
    TtsFailed {
        clause: u64,
        error: ProviderError,
    },
    /// The apology, synthesised at call start when no pre-rendered lines exist.
    ApologyCached {
        samples: usize,
    },
    /// The socket reports that the mark after `clause` was played.
    MarkPlayed {
        clause: u64,
    },
    /// The first frame of agent turn `turn` went out.
    FirstFrameOut {
        turn: u64,
    },
    /// The tools asked for by `Command::ApplyTools` ran: their results by tool-call id,
    /// whether the call should now end after the agent's goodbye, and that goodbye.
    ToolsApplied {
        results: Vec<(String, String)>,
        close: bool,
        closing_line: String,
        /// The hand-off line (`transfer_to_human`): said in full after whatever the model
        /// said, even when it said something, before the call closes its stream.
        handoff_line: Option<String>,
    },
    /// A child failed and its supervisor is restarting it.
    ChildFailed {
        child: Child,
        error: ProviderError,
    },
    /// The answering-machine detector decided, or heard the beep.
    Machine(MachineEvent),
    /// The call's time is up (its limit, or the node's shutdown grace).
    TimeUp,
    /// The media stream ended.
    SocketClosed,
    /// The clock moved.
    Tick,
}
