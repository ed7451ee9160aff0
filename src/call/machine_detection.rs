//! Answering-machine detection: within the first seconds of a call, decide whether a person or
//! a machine (voicemail, call screening, a carrier announcement) answered, from the words
//! transcribed and from the audio (a long uninterrupted greeting, a beep). A pure state
//! machine: audio, transcripts and the clock in, events out.
//!
//! The rules, first to fire wins, and only inside the decision window
//! (`voicemail.decide_within_seconds` after the call's media started):
//! - a transcript (interim or final) contains one of the playbook's machine phrases → Machine;
//! - a beep (see `beep`) → Machine;
//! - the first stretch of speech (pauses shorter than `PAUSE_MS` do not end it) lasts
//!   `voicemail.long_greeting_ms` → Machine: a person says "Hello?" and waits, a machine reads
//!   its greeting through;
//! - the first stretch of speech ends (a pause of `PAUSE_MS`) shorter than that → Human;
//! - the window closes undecided (silence, or a line that said nothing) → Human: speaking to a
//!   person as if they were a machine is the worse mistake.
//!
//! After a Machine verdict, beeps are still watched for (a message is left after the beep);
//! after a Human verdict the detector does nothing (a person saying "leave a message" later
//! in the call changes nothing).
//!
//! Limitation: speech is told from silence by energy alone, so loud steady noise from the
//! first second counts as a long greeting.

mod beep;
mod phrases;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::conversation::playbook::Playbook;

pub use beep::pure_tone_hz;
use beep::{BeepDetector, BeepEvent};
pub use phrases::PhraseList;

/// A pause in the first speech this long ends it (a machine's pauses between sentences are
/// shorter; a person who said "Hello?" waits longer).
const PAUSE_MS: u32 = 800;
/// RMS above which a frame is speech (as `media::vad`).
const SPEECH_RMS: f32 = 500.0;
/// The shortest tone taken for a beep.
const BEEP_MIN_MS: u32 = 160;

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

/// Why the verdict was given (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Phrase,
    Beep,
    LongGreeting,
    ShortGreeting,
    WindowClosed,
}

/// The first stretch of the callee's speech, in audio time (ms since the first sample).
#[derive(Debug, Clone, Copy, Default)]
struct FirstSpeech {
    started_ms: Option<u64>,
    last_voiced_ms: u64,
}

/// Watches the start of one call.
#[derive(Debug)]
pub struct MachineDetector {
    phrases: PhraseList,
    deadline: Instant,
    long_greeting_ms: u64,
    sample_rate: u32,
    frame_len: usize,
    /// Samples not yet making a whole frame.
    pending: Vec<i16>,
    /// Audio time: ms of caller audio analysed so far.
    audio_ms: u64,
    speech: FirstSpeech,
    beep: BeepDetector,
    beep_reported: bool,
    /// Final transcripts so far, so that a phrase split over two finals still matches.
    finals: String,
    verdict: Option<(AnsweredBy, Reason)>,
    /// Events not yet returned (one push can produce two, e.g. a verdict and a beep).
    events: VecDeque<MachineEvent>,
}

impl MachineDetector {
    pub fn new(playbook: &Playbook, sample_rate: u32, started: Instant) -> MachineDetector {
        let config = &playbook.voicemail;
        let sample_rate = sample_rate.max(1000);
        MachineDetector {
            phrases: PhraseList::new(&config.phrases),
            deadline: started + Duration::from_secs(u64::from(config.decide_within_seconds)),
            long_greeting_ms: u64::from(config.long_greeting_ms),
            sample_rate,
            frame_len: BeepDetector::frame_len(sample_rate),
            pending: Vec::new(),
            audio_ms: 0,
            speech: FirstSpeech::default(),
            beep: BeepDetector::new(sample_rate, BEEP_MIN_MS),
            beep_reported: false,
            finals: String::new(),
            verdict: None,
            events: VecDeque::new(),
        }
    }

    /// Caller audio (PCM16 at the call's rate) received at `now`.
    pub fn push_audio(&mut self, pcm: &[i16], now: Instant) -> Option<MachineEvent> {
        self.close_window_if_due(now);
        if self.verdict.is_none() || self.is_machine() && !self.beep_reported {
            self.pending.extend_from_slice(pcm);
            let frames = self.pending.len() / self.frame_len;
            let whole: Vec<i16> = self.pending.drain(..frames * self.frame_len).collect();
            for frame in whole.chunks(self.frame_len) {
                self.push_frame(frame);
            }
        }
        self.events.pop_front()
    }

    /// A transcript (interim or final) received at `now`.
    pub fn push_transcript(
        &mut self,
        text: &str,
        is_final: bool,
        now: Instant,
    ) -> Option<MachineEvent> {
        self.close_window_if_due(now);
        if self.verdict.is_none() {
            let heard = format!("{} {text}", self.finals);
            if self.phrases.matches(&heard) {
                self.decide(AnsweredBy::Machine, Reason::Phrase);
            } else if is_final {
                self.finals = heard;
            }
        }
        self.events.pop_front()
    }

    /// The clock moved (the call's tick): decisions that are due on time alone.
    pub fn tick(&mut self, now: Instant) -> Option<MachineEvent> {
        self.close_window_if_due(now);
        self.events.pop_front()
    }

    /// An event produced earlier and not yet returned (call until `None`).
    pub fn poll_event(&mut self) -> Option<MachineEvent> {
        self.events.pop_front()
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Option<AnsweredBy> {
        self.verdict.map(|(by, _)| by)
    }

    /// Which rule gave the verdict.
    pub fn reason(&self) -> Option<Reason> {
        self.verdict.map(|(_, reason)| reason)
    }

    /// When an undecided call is taken for a person.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    fn is_machine(&self) -> bool {
        self.verdict() == Some(AnsweredBy::Machine)
    }

    fn close_window_if_due(&mut self, now: Instant) {
        if self.verdict.is_none() && now >= self.deadline {
            self.decide(AnsweredBy::Human, Reason::WindowClosed);
        }
    }

    fn decide(&mut self, by: AnsweredBy, reason: Reason) {
        if self.verdict.is_none() {
            self.verdict = Some((by, reason));
            self.events.push_back(MachineEvent::Decided(by));
        }
    }

    fn push_frame(&mut self, frame: &[i16]) {
        self.audio_ms += u64::from(beep::FRAME_MS);
        match self.beep.push_frame(frame) {
            Some(BeepEvent::ToneHeard) => self.decide(AnsweredBy::Machine, Reason::Beep),
            Some(BeepEvent::Ended) if self.is_machine() && !self.beep_reported => {
                self.beep_reported = true;
                self.events.push_back(MachineEvent::Beep);
            }
            _ => {}
        }
        if self.verdict.is_some() {
            return;
        }
        let energy: f32 = frame.iter().map(|&x| (x as f32) * (x as f32)).sum();
        let voiced = (energy / frame.len() as f32).sqrt() >= SPEECH_RMS
            && pure_tone_hz(frame, self.sample_rate as f32).is_none();
        let now_ms = self.audio_ms;
        if voiced {
            let started = *self.speech.started_ms.get_or_insert(now_ms);
            self.speech.last_voiced_ms = now_ms;
            if now_ms - started >= self.long_greeting_ms {
                self.decide(AnsweredBy::Machine, Reason::LongGreeting);
            }
        } else if self.speech.started_ms.is_some()
            && now_ms - self.speech.last_voiced_ms >= u64::from(PAUSE_MS)
        {
            self.decide(AnsweredBy::Human, Reason::ShortGreeting);
        }
    }
}

#[cfg(test)]
mod tests;
