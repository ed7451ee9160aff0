//! Table-driven tests of the turn-taking rules on a fake clock: a script of timed events in,
//! the commands out, checked by kind. Between scripted events the clock ticks every 100 ms,
//! as the `CallActor`'s does.

// The tables are tuples by design: one row per case, read across.
#![allow(clippy::type_complexity)]

mod barge_in;
mod continuation;
mod end_of_turn;
mod failures;
mod handoff;
mod history;
mod pickup;
mod playout;
mod speculation;
mod voicemail;

use std::time::{Duration, Instant};

use super::restart::RestartPolicy;
use super::{Command, Event, Line, Lines, Prerendered, Timing, TurnConfig, TurnTaking};
use crate::call::machine_detection::MachineEvent;
use crate::call::messages::Child;
use crate::providers::error::{Provider, ProviderError, ProviderErrorKind};
use crate::providers::openai::LlmDelta;

pub const RATE: u32 = 8000;

pub fn config() -> TurnConfig {
    TurnConfig {
        sample_rate: RATE,
        min_speech: Duration::from_millis(400),
        backchannels: vec!["haan ji".into(), "hmm".into(), "okay".into()],
        reprompt_after: Duration::from_secs(5),
        hang_up_after_reprompts: 1,
        max_turns: 10,
        max_tool_rounds: 3,
        lines: Lines {
            greeting: "Hi Asha, this is Priya from Acme Homes. Are you looking for a flat?".into(),
            reprompt: "Still there?".into(),
            not_qualified: "Thanks for your time, bye.".into(),
            time_up: "We are out of time, bye.".into(),
            apology: "Sorry, we have a problem, we will call you back.".into(),
            one_moment: "One moment.".into(),
            voicemail_message: Some(
                "Hi, this is Priya from Acme Homes, please call us back.".into(),
            ),
        },
        prerendered: Prerendered {
            apology: Some(RATE as usize * 2),
            one_moment: Some(RATE as usize / 2),
            time_up: Some(RATE as usize),
        },
        timing: Timing::default(),
        restarts: RestartPolicy::default(),
        finalize_on_silence: true,
        // Off in most tables (their LLM answers after the final); `speculation` turns it on.
        speculate: false,
    }
}

/// A scripted input.
#[derive(Debug, Clone)]
pub enum Ev {
    /// Speech after the silence the script shows since the last `SpeechEnded` (the audio and
    /// the clock agree).
    SpeechStarted,
    /// Speech after this many ms of silence in the caller's audio, whenever the event comes
    /// (frames delivered late or in a burst).
    SpeechStartedAfter(u64),
    SpeechEnded,
    Interim(&'static str),
    Final(&'static str, bool),
    /// The answer to `FinalizeTranscript`.
    Finalized(&'static str),
    UtteranceEnd,
    Dtmf(&'static str),
    /// Synthesise every clause asked for and not yet synthesised: this many ms of audio each.
    Synth(u64),
    /// Synthesise only part of the next pending clause (ms of audio), not done.
    SynthPart(u64),
    /// The marks of every synthesised clause come back.
    Marks,
    LlmText(&'static str),
    /// A tool call of the current generation: `(name, JSON arguments)`.
    LlmTool(&'static str, &'static str),
    LlmDone,
    LlmFailed(ProviderErrorKind),
    TtsFailed(ProviderErrorKind),
    ChildFailed(Child, ProviderErrorKind),
    Machine(MachineEvent),
    TimeUp,
    Closed,
}

/// The core, the fake clock and everything it asked for.
pub struct Harness {
    pub core: TurnTaking,
    pub t0: Instant,
    pub now_ms: u64,
    pub out: Vec<Command>,
    /// When each command of `out` was given (ms).
    pub out_ms: Vec<u64>,
    /// Clauses asked for and not yet synthesised.
    pending: Vec<u64>,
    /// Clauses synthesised whose mark has not come back.
    unmarked: Vec<u64>,
    generation: u64,
    /// When the script's caller last stopped speaking (ms).
    speech_ended_ms: Option<u64>,
    /// Set: every tool round hands the lead over (closes, with this hand-off line).
    pub handoff_line: Option<String>,
}

impl Harness {
    pub fn new(cfg: TurnConfig) -> Harness {
        let t0 = Instant::now();
        let mut h = Harness {
            core: TurnTaking::new(cfg),
            t0,
            now_ms: 0,
            out: Vec::new(),
            out_ms: Vec::new(),
            pending: Vec::new(),
            unmarked: Vec::new(),
            generation: 0,
            speech_ended_ms: None,
            handoff_line: None,
        };
        h.feed(Event::Start);
        h
    }

    pub fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.now_ms)
    }

    fn feed(&mut self, event: Event) {
        let now = self.now();
        let commands = self.core.handle(event, now);
        for c in commands {
            match &c {
                Command::Speak { clause, .. } if !self.pending.contains(clause) => {
                    self.pending.push(*clause)
                }
                Command::Generate { generation, .. } => self.generation = *generation,
                Command::CancelSpeech => self.pending.clear(),
                _ => {}
            }
            let tools = matches!(c, Command::ApplyTools { .. });
            let ids: Vec<(String, String)> = match &c {
                Command::ApplyTools { calls } => calls
                    .iter()
                    .map(|c| (c.id.clone(), "ok".to_string()))
                    .collect(),
                _ => Vec::new(),
            };
            self.out.push(c);
            self.out_ms.push(self.now_ms);
            if tools {
                let handoff_line = self.handoff_line.clone();
                self.feed(Event::ToolsApplied {
                    results: ids,
                    close: handoff_line.is_some(),
                    closing_line: "Bye.".into(),
                    handoff_line,
                });
            }
        }
    }

    /// Moves the clock to `ms`, ticking every 100 ms on the way.
    pub fn advance_to(&mut self, ms: u64) {
        while self.now_ms + 100 <= ms {
            self.now_ms += 100;
            self.feed(Event::Tick);
        }
        if self.now_ms < ms {
            self.now_ms = ms;
            self.feed(Event::Tick);
        }
    }

    pub fn at(&mut self, ms: u64, ev: Ev) -> &mut Harness {
        self.advance_to(ms);
        let error = |provider, kind| ProviderError::new(provider, kind, "scripted");
        match ev {
            Ev::SpeechStarted => {
                let silence = self.speech_ended_ms.map(|end| ms.saturating_sub(end));
                self.feed(Event::SpeechStarted {
                    after_silence: silence.map(Duration::from_millis),
                })
            }
            Ev::SpeechStartedAfter(silence) => self.feed(Event::SpeechStarted {
                after_silence: Some(Duration::from_millis(silence)),
            }),
            Ev::SpeechEnded => {
                self.speech_ended_ms = Some(ms);
                self.feed(Event::SpeechEnded)
            }
            Ev::Interim(t) => self.feed(Event::Interim(t.into())),
            Ev::Final(t, speech_final) => self.feed(Event::Final {
                text: t.into(),
                speech_final,
                from_finalize: false,
            }),
            Ev::Finalized(t) => self.feed(Event::Final {
                text: t.into(),
                speech_final: false,
                from_finalize: true,
            }),
            Ev::UtteranceEnd => self.feed(Event::UtteranceEnd),
            Ev::Dtmf(d) => self.feed(Event::Dtmf(d.into())),
            Ev::Synth(ms) => {
                for clause in std::mem::take(&mut self.pending) {
                    let pcm = vec![0i16; (RATE as u64 * ms / 1000) as usize];
                    self.feed(Event::TtsAudio { clause, pcm });
                    self.feed(Event::TtsDone { clause });
                    self.unmarked.push(clause);
                }
            }
            Ev::SynthPart(ms) => {
                if let Some(&clause) = self.pending.first() {
                    let pcm = vec![0i16; (RATE as u64 * ms / 1000) as usize];
                    self.feed(Event::TtsAudio { clause, pcm });
                }
            }
            Ev::Marks => {
                for clause in std::mem::take(&mut self.unmarked) {
                    self.feed(Event::MarkPlayed { clause });
                }
            }
            Ev::LlmText(t) => self.feed(Event::LlmDelta {
                generation: self.generation,
                delta: LlmDelta::Text(t.into()),
            }),
            Ev::LlmTool(name, arguments) => self.feed(Event::LlmDelta {
                generation: self.generation,
                delta: LlmDelta::ToolCall(crate::providers::openai::ToolCall {
                    id: format!("call_{name}"),
                    kind: "function".into(),
                    function: crate::providers::openai::FunctionCall {
                        name: name.into(),
                        arguments: arguments.into(),
                    },
                }),
            }),
            Ev::LlmDone => self.feed(Event::LlmDone {
                generation: self.generation,
            }),
            Ev::LlmFailed(kind) => self.feed(Event::LlmFailed {
                generation: self.generation,
                error: error(Provider::OpenAi, kind),
            }),
            Ev::TtsFailed(kind) => {
                if let Some(&clause) = self.pending.first() {
                    self.feed(Event::TtsFailed {
                        clause,
                        error: error(Provider::ElevenLabs, kind),
                    });
                }
            }
            Ev::ChildFailed(child, kind) => {
                let provider = match child {
                    Child::Stt => Provider::Deepgram,
                    Child::Llm => Provider::OpenAi,
                    Child::Tts => Provider::ElevenLabs,
                };
                self.feed(Event::ChildFailed {
                    child,
                    error: error(provider, kind),
                })
            }
            Ev::Machine(m) => self.feed(Event::Machine(m)),
            Ev::TimeUp => self.feed(Event::TimeUp),
            Ev::Closed => self.feed(Event::SocketClosed),
        }
        self
    }

    /// Runs a script of `(ms, event)` and then the clock to `until`.
    pub fn script(cfg: TurnConfig, steps: &[(u64, Ev)], until: u64) -> Harness {
        let mut h = Harness::new(cfg);
        for (ms, ev) in steps {
            h.at(*ms, ev.clone());
        }
        h.advance_to(until);
        h
    }

    /// How many commands of this kind were given.
    pub fn count(&self, kind: &str) -> usize {
        self.out.iter().filter(|c| kind_of(c) == kind).count()
    }

    /// The kinds of the commands, in order, without ticks' noise (speak/play/mark).
    pub fn kinds(&self) -> Vec<&'static str> {
        self.out
            .iter()
            .map(kind_of)
            .filter(|k| !["speak", "play", "mark", "turn_ended"].contains(k))
            .collect()
    }

    /// What was said to the caller as transcript entries: (speaker, text, interrupted).
    pub fn transcript(&self) -> Vec<(String, String, bool)> {
        self.out
            .iter()
            .filter_map(|c| match c {
                Command::Record {
                    speaker,
                    text,
                    interrupted,
                    ..
                } => Some((
                    serde_json::to_value(speaker)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string(),
                    text.clone(),
                    *interrupted,
                )),
                _ => None,
            })
            .collect()
    }

    /// The texts synthesised, in order.
    pub fn spoken(&self) -> Vec<String> {
        self.out
            .iter()
            .filter_map(|c| match c {
                Command::Speak { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// The latency saved with the first answer recorded.
    pub fn first_latency(&self) -> crate::call::transcript::TurnLatency {
        self.out
            .iter()
            .find_map(|c| match c {
                Command::Record {
                    latency: Some(l), ..
                } => Some(l.clone()),
                _ => None,
            })
            .expect("the answer's latency")
    }

    /// When a clause containing `text` was first asked for (ms).
    pub fn when_spoken(&self, text: &str) -> Option<u64> {
        self.out
            .iter()
            .zip(&self.out_ms)
            .find_map(|(c, ms)| match c {
                Command::Speak { text: t, .. } if t.contains(text) => Some(*ms),
                _ => None,
            })
    }
}

pub fn kind_of(c: &Command) -> &'static str {
    match c {
        Command::Speak { .. } => "speak",
        Command::Play { .. } => "play",
        Command::PlayLine {
            line: Line::Apology,
            ..
        } => "apology",
        Command::PlayLine {
            line: Line::OneMoment,
            ..
        } => "one_moment",
        Command::PlayLine {
            line: Line::TimeUp, ..
        } => "time_up",
        Command::Mark { .. } => "mark",
        Command::PauseAudio => "pause",
        Command::ResumeAudio => "resume",
        Command::ClearAudio => "clear",
        Command::FinalizeTranscript => "finalize",
        Command::TakeBackCallerTurn => "take_back",
        Command::Generate { .. } => "generate",
        Command::CancelGeneration => "cancel_generation",
        Command::SpeculationSettled { adopted: true } => "adopted",
        Command::SpeculationSettled { adopted: false } => "dropped",
        Command::CancelSpeech => "cancel_speech",
        Command::ApplyTools { .. } => "tools",
        Command::Record { .. } => "record",
        Command::TurnEnded(_) => "turn_ended",
        Command::HangUp => "hang_up",
        Command::Save => "save",
        Command::PauseCampaign { .. } => "pause_campaign",
    }
}

/// The greeting said and played in full by 4 s (its marks back): the agent is listening.
pub fn greeted() -> Vec<(u64, Ev)> {
    vec![(1000, Ev::Synth(1500)), (3500, Ev::Marks)]
}

/// `greeted()`, then the caller answers "yes" (turn ends at 5 s) and the LLM is asked.
pub fn answered() -> Vec<(u64, Ev)> {
    let mut s = greeted();
    s.extend([
        (4000, Ev::SpeechStarted),
        (4500, Ev::SpeechEnded),
        (4800, Ev::Final("yes", true)),
    ]);
    s
}
