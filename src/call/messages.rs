//! Every message of the call side of the tree, in one place (actors.md lists who sends which).

use actix::prelude::*;

use crate::providers::deepgram::SttEvent;
use crate::providers::error::ProviderError;
use crate::providers::openai::{ChatMessage, LlmDelta};

// ── MediaSocket → CallActor ─────────────────────────────────────────────────────────────

/// Caller audio, PCM16 at the socket's rate. Sent with `try_send`: dropped (and counted)
/// when the call's mailbox is full rather than queued without bound.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InboundAudio(pub Vec<i16>);

#[derive(Message)]
#[rtype(result = "()")]
pub struct CallerDtmf(pub String);

/// A mark we sent has been played to the caller.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MarkPlayed(pub String);

/// The first frame of an agent turn went out to the caller.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FirstFrameOut {
    pub turn: u64,
    pub at: std::time::Instant,
}

/// The media stream ended (`stop` event, or the socket closed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketClosed {
    pub reason: String,
}

// ── shutdown → CallActor ───────────────────────────────────────────────────────────────

/// The node's shutdown grace period is over: say the playbook's time-up line, hang up, save.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TimeUp;

// ── CallActor → MediaSocket ─────────────────────────────────────────────────────────────

#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum SocketCommand {
    /// Agent audio for turn `turn`, PCM16 at the socket's rate; paced out in 20 ms frames.
    Play { turn: u64, pcm: Vec<i16> },
    /// Sent after the audio queued before it; echoed by Exotel when played.
    Mark(String),
    /// Hold: stop sending agent audio (the caller may be barging in) but keep the queue.
    Pause,
    /// The hold is over (a back-channel, noise): send the queue from where it stopped.
    Resume,
    /// Barge-in: drop queued audio and tell Exotel to drop its own.
    Clear,
    /// Close the socket once the queued audio has played.
    HangUp,
}

// ── children → CallActor ────────────────────────────────────────────────────────────────

#[derive(Message)]
#[rtype(result = "()")]
pub struct FromStt(pub SttEvent);

#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum FromLlm {
    Delta {
        generation: u64,
        delta: LlmDelta,
    },
    Done {
        generation: u64,
    },
    Failed {
        generation: u64,
        error: ProviderError,
    },
}

#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum FromTts {
    Audio {
        clause: u64,
        pcm: Vec<i16>,
    },
    Done {
        clause: u64,
    },
    Failed {
        clause: u64,
        error: ProviderError,
    },
    /// A phrase synthesised ahead of time (the apology), kept by the call.
    Cached {
        key: &'static str,
        pcm: Vec<i16>,
    },
}

/// Which child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Child {
    Stt,
    Llm,
    Tts,
}

/// A child failed and is being restarted by its supervisor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChildFailed {
    pub child: Child,
    pub error: ProviderError,
}

// ── CallActor → children ────────────────────────────────────────────────────────────────

/// Caller audio for the transcriber (`try_send`; droppable).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SttAudio(pub Vec<i16>);

/// Ask for the final now (Deepgram `Finalize`): our VAD heard the caller stop. A hint: if
/// the stream's queue is full it is dropped, and the recogniser's endpointing ends the turn.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SttFinalize;

/// Close the transcription stream (the call ended).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SttClose;

#[derive(Message)]
#[rtype(result = "()")]
pub struct Generate {
    pub generation: u64,
    pub messages: Vec<ChatMessage>,
    pub tools: serde_json::Value,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct CancelGeneration;

#[derive(Message)]
#[rtype(result = "()")]
pub struct Speak {
    pub clause: u64,
    pub text: String,
}

/// Synthesise a phrase now and hand it back as `FromTts::Cached`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Prefetch {
    pub key: &'static str,
    pub text: String,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct CancelSpeech;
