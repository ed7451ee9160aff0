//! Answering-machine detection: within the first seconds of a call, decide whether a person or
//! a machine (voicemail, call screening, a carrier announcement) answered, from the words
//! transcribed and from the audio (a long uninterrupted greeting, a beep). A pure state
//! machine: audio, transcripts and the clock in, events out. (Stub: the rules are being built;
//! this version never decides.)

use std::time::Instant;

use crate::conversation::playbook::Playbook;

/// Who answered the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy {
    Human,
    Machine,
}

/// What the detector tells the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineEvent {
    /// The verdict, given once.
    Decided(AnsweredBy),
    /// A machine's beep ended: a message left now is recorded.
    Beep,
}

/// Watches the start of one call.
#[derive(Debug)]
pub struct MachineDetector {
    verdict: Option<AnsweredBy>,
}

impl MachineDetector {
    pub fn new(_playbook: &Playbook, _sample_rate: u32, _started: Instant) -> MachineDetector {
        MachineDetector { verdict: None }
    }

    /// Caller audio (PCM16 at the call's rate) received at `now`.
    pub fn push_audio(&mut self, _pcm: &[i16], _now: Instant) -> Option<MachineEvent> {
        None
    }

    /// A transcript (interim or final) received at `now`.
    pub fn push_transcript(
        &mut self,
        _text: &str,
        _is_final: bool,
        _now: Instant,
    ) -> Option<MachineEvent> {
        None
    }

    /// The clock moved (the call's tick): decisions that are due on time alone.
    pub fn tick(&mut self, _now: Instant) -> Option<MachineEvent> {
        None
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Option<AnsweredBy> {
        self.verdict
    }
}
