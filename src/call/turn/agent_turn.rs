//! One agent turn: its clauses, how far each got (synthesised, queued, played), and our own
//! playout clock. The socket sends audio in real time from when it is queued, so a clause's
//! audio plays from `max(now, end of what is queued)` for `samples / rate`; a hold shifts the
//! rest by its length. A turn is over when every clause is played by `mark` or by that clock
//! plus a margin: a lost `mark` never wedges a turn.

use std::time::{Duration, Instant};

use crate::call::clauses::ClauseSplitter;
use crate::call::transcript::TurnLatency;
use crate::providers::openai::ToolCall;

/// Why the agent is talking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnKind {
    Greeting,
    /// An answer from the LLM.
    Answer,
    /// A fixed line: a re-prompt, a closing line, the time-up line, a voicemail message.
    Fixed,
}

/// A clause of an agent turn and how far it got.
#[derive(Debug)]
pub struct Clause {
    pub id: u64,
    pub text: String,
    /// Not part of what the agent "said" (the "one moment" line): left out of the transcript
    /// and the LLM history.
    pub filler: bool,
    pub samples: usize,
    pub tts_done: bool,
    /// Its mark came back.
    pub played: bool,
    /// On our playout clock: when its first sample plays and when its last ends.
    pub plays_from: Option<Instant>,
    pub plays_until: Option<Instant>,
}

/// When each step of a turn happened (from the caller's end of speech).
#[derive(Debug, Clone, Copy, Default)]
pub struct TurnTimes {
    pub speech_end: Option<Instant>,
    pub final_at: Option<Instant>,
    pub llm_request_at: Option<Instant>,
    pub first_token_at: Option<Instant>,
    /// The first clause of the answer was complete and sent to TTS.
    pub first_clause_at: Option<Instant>,
    pub tts_first_at: Option<Instant>,
    pub first_frame_at: Option<Instant>,
    /// LLM rounds after the first one this turn needed (a tool call with nothing said).
    pub llm_rounds: u32,
    /// The answer is a speculation the final confirmed (`speculation`).
    pub speculated: bool,
}

impl TurnTimes {
    pub fn latency(&self) -> TurnLatency {
        let from = self.speech_end.or(self.final_at);
        let ms = |t: Option<Instant>| Some(t?.saturating_duration_since(from?).as_millis() as u64);
        let us = |a: Option<Instant>, b: Option<Instant>| {
            Some(b?.saturating_duration_since(a?).as_micros() as u64)
        };
        TurnLatency {
            final_transcript_ms: ms(self.final_at),
            llm_request_ms: ms(self.llm_request_at),
            llm_first_token_ms: ms(self.first_token_at),
            first_clause_ms: ms(self.first_clause_at),
            tts_first_byte_ms: ms(self.tts_first_at),
            first_frame_ms: ms(self.first_frame_at),
            overhead_transcript_to_llm_us: us(self.final_at, self.llm_request_at),
            overhead_tts_to_frame_us: us(self.tts_first_at, self.first_frame_at),
            llm_rounds: Some(self.llm_rounds + 1),
            speculated: Some(self.speculated),
        }
    }
}

/// What the agent is saying now.
#[derive(Debug)]
pub struct AgentTurn {
    /// Numbers this turn's audio for the socket.
    pub id: u64,
    pub kind: TurnKind,
    pub generation: u64,
    pub started: Instant,
    pub clauses: Vec<Clause>,
    pub splitter: ClauseSplitter,
    pub llm_done: bool,
    /// The LLM's text this generation (decides whether a tool round must speak).
    pub llm_text: String,
    pub tool_calls: Vec<ToolCall>,
    /// `Some(had_text)` while waiting for `ToolsApplied`.
    pub awaiting_tools: Option<bool>,
    pub tool_rounds: u32,
    /// Hang up once this turn has been played.
    pub close_after: bool,
    /// Failures of this turn (LLM or TTS): the first is retried, the second closes the call.
    pub failures: u32,
    /// The "one moment" line was said in this turn (at most once).
    pub one_moment_said: bool,
    /// When the current generation was asked for, and whether a token of it arrived.
    pub asked_at: Option<Instant>,
    pub answering: bool,
    /// A new generation is due then (the LLM failed).
    pub retry_at: Option<Instant>,
    /// The unsynthesised clauses are asked for again then (TTS failed).
    pub respeak_at: Option<Instant>,
    /// Clauses already queued before a retried generation: not said twice.
    pub said_before_retry: Vec<String>,
    /// Our playout clock: when the queued audio will have played, and since when it is held.
    pub playout_end: Option<Instant>,
    pub paused_at: Option<Instant>,
    pub times: TurnTimes,
}

impl AgentTurn {
    pub fn new(id: u64, kind: TurnKind, generation: u64, now: Instant) -> AgentTurn {
        AgentTurn {
            id,
            kind,
            generation,
            started: now,
            clauses: Vec::new(),
            splitter: ClauseSplitter::default(),
            llm_done: false,
            llm_text: String::new(),
            tool_calls: Vec::new(),
            awaiting_tools: None,
            tool_rounds: 0,
            close_after: false,
            failures: 0,
            one_moment_said: false,
            asked_at: None,
            answering: false,
            retry_at: None,
            respeak_at: None,
            said_before_retry: Vec::new(),
            playout_end: None,
            paused_at: None,
            times: TurnTimes::default(),
        }
    }

    /// The caller can hear this turn (its audio has started).
    pub fn audible(&self) -> bool {
        self.clauses.iter().any(|c| c.plays_from.is_some())
    }

    /// When the caller first heard this turn.
    pub fn audio_started(&self) -> Option<Instant> {
        self.clauses.iter().filter_map(|c| c.plays_from).min()
    }

    /// Audio of `samples` for clause `clause` was queued at `now`.
    pub fn queue_audio(&mut self, clause: u64, samples: usize, rate: u32, now: Instant) {
        let length = Duration::from_secs_f64(samples as f64 / f64::from(rate.max(1)));
        let paused_at = self.paused_at;
        // While held nothing plays: queued audio starts when the hold ends (shifted then).
        let from = self
            .playout_end
            .map_or(now, |end| end.max(now))
            .max(paused_at.unwrap_or(now));
        let until = from + length;
        self.playout_end = Some(until);
        if let Some(c) = self.clauses.iter_mut().find(|c| c.id == clause) {
            c.samples += samples;
            c.plays_from.get_or_insert(from);
            c.plays_until = Some(until);
        }
    }

    pub fn pause(&mut self, now: Instant) {
        self.paused_at.get_or_insert(now);
    }

    /// The hold is over: what had not played yet plays that much later.
    pub fn resume(&mut self, now: Instant) {
        let Some(at) = self.paused_at.take() else {
            return;
        };
        let shift = now.saturating_duration_since(at);
        let later = |t: &mut Option<Instant>| {
            if let Some(x) = t.as_mut() {
                if *x > at {
                    *x += shift;
                }
            }
        };
        later(&mut self.playout_end);
        for c in &mut self.clauses {
            if let Some(from) = c.plays_from.as_mut() {
                if *from >= at {
                    *from += shift;
                }
            }
            later(&mut c.plays_until);
        }
    }

    /// Every clause has been synthesised and played (by mark, or by our clock plus `margin`).
    pub fn finished(&self, now: Instant, margin: Duration) -> bool {
        let waiting = self.awaiting_tools.is_some() || self.retry_at.is_some();
        if !self.llm_done || waiting || self.respeak_at.is_some() {
            return false;
        }
        if !self.clauses.iter().all(|c| c.tts_done) {
            return false;
        }
        let by_marks = self.clauses.iter().all(|c| c.played || c.samples == 0);
        let by_clock =
            self.paused_at.is_none() && self.playout_end.is_none_or(|end| now >= end + margin);
        by_marks || by_clock
    }

    /// What the agent said of this turn up to `at`: clauses played in full, and the part of
    /// the one playing then that had time to play, cut at a word. Fillers are left out.
    pub fn heard_by(&self, at: Instant) -> String {
        let mut words: Vec<String> = Vec::new();
        for c in self.clauses.iter().filter(|c| !c.filler) {
            let (from, until) = match (c.plays_from, c.plays_until) {
                _ if c.played => {
                    words.push(c.text.clone());
                    continue;
                }
                (Some(from), Some(until)) => (from, until),
                _ => break,
            };
            if at >= until && c.tts_done {
                words.push(c.text.clone());
                continue;
            }
            if at <= from {
                break;
            }
            let length = until.saturating_duration_since(from).as_secs_f64();
            let fraction = if length > 0.0 {
                (at.saturating_duration_since(from).as_secs_f64() / length).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let chars = c.text.chars().count();
            let cut = (chars as f64 * fraction) as usize;
            let heard: String = c.text.chars().take(cut).collect();
            let heard = match heard.rfind(' ') {
                Some(i) if cut < chars => heard[..i].to_string(),
                _ => heard,
            };
            if !heard.trim().is_empty() {
                words.push(heard.trim().to_string());
            }
            break;
        }
        words.join(" ")
    }

    /// The whole text of the turn (what it will have said when played out).
    pub fn full_text(&self) -> String {
        self.clauses
            .iter()
            .filter(|c| !c.filler)
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}
