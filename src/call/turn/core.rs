//! The state machine itself: its state, the event dispatch, and the agent's speaking (fixed
//! lines, LLM answers, tool rounds, the end of a turn). The caller-side rules live in
//! `pickup`, `barge_in` and `listening`; failures in `failures`; voicemail in `voicemail`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::agent_turn::{AgentTurn, Clause, TurnKind};
use super::commands::{Command, Line};
use super::config::TurnConfig;
use super::events::Event;
use super::restart::RestartWindow;
use super::speculation::{LlmReport, Speculation};
use crate::call::clauses::ClauseSplitter;
use crate::call::messages::Child;
use crate::call::outcome::ConversationOutcome;
use crate::call::transcript::{Speaker, TurnLatency};
use crate::call::verdict::Verdict;
use crate::providers::openai::ChatMessage;

/// Where the call is, for the rules and for `/debug/sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Picked up; the greeting waits for the callee's "Hello?" or a moment of silence.
    Pickup,
    /// The conversation.
    Talking,
    /// A machine answered: waiting for its beep, then the message.
    Voicemail,
    /// The call cannot go on: apologising and hanging up.
    GivingUp,
    /// The last line is playing (or the hang-up is sent).
    Closing,
    /// The media stream ended.
    Ended,
}

/// The caller's side of the conversation.
#[derive(Debug, Default)]
pub(super) struct Caller {
    pub speaking: bool,
    pub speech_started: Option<Instant>,
    pub speech_ended: Option<Instant>,
    /// The silence before the current (or last) stretch of speech, in the caller's audio.
    pub resumed_after: Option<Duration>,
    /// Final words of the caller's current turn.
    pub text: String,
    pub interim: String,
    /// When the last final words came (the end-of-turn fallback's clock when our VAD heard
    /// nothing, on a quiet line).
    pub last_words_at: Option<Instant>,
    /// The recogniser ended the turn (`speech_final`/`UtteranceEnd`, or a key press) while
    /// the agent was busy: answer when it is free.
    pub turn_complete: bool,
    /// Transcripts of speech from before the greeting (the callee's "Hello?") are dropped
    /// until the caller starts speaking again.
    pub ignore_until_new_speech: bool,
    /// The caller spoke during pick-up.
    pub spoke_at_pickup: bool,
}

/// A hold: the agent's audio is paused while we find out whether the caller's speech is words.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hold {
    pub since: Instant,
}

/// The turn-taking core of one call.
pub struct TurnTaking {
    pub(super) cfg: TurnConfig,
    pub(super) stage: Stage,
    pub(super) started: Option<Instant>,
    pub(super) agent: Option<AgentTurn>,
    pub(super) caller: Caller,
    pub(super) hold: Option<Hold>,
    pub(super) history: Vec<ChatMessage>,
    pub(super) verdict: Verdict,
    pub(super) generation: u64,
    pub(super) next_clause: u64,
    pub(super) next_turn: u64,
    pub(super) reprompts: u32,
    pub(super) user_turns: u32,
    /// Answers dropped because the caller went on (`continuation`).
    pub(super) answers_taken_back: u32,
    pub(super) last_agent_end: Option<Instant>,
    pub(super) restarts: HashMap<Child, RestartWindow>,
    pub(super) apology_samples: Option<usize>,
    pub(super) voicemail: Option<super::voicemail::VoicemailWait>,
    /// An answer asked for before the caller's turn ended, held (`speculation`).
    pub(super) speculation: Option<Speculation>,
    pub(super) out: Vec<Command>,
}

impl TurnTaking {
    pub fn new(cfg: TurnConfig) -> TurnTaking {
        let restarts = [Child::Stt, Child::Llm, Child::Tts]
            .into_iter()
            .map(|c| (c, RestartWindow::new(cfg.restarts)))
            .collect();
        let apology_samples = cfg.prerendered.apology;
        TurnTaking {
            cfg,
            stage: Stage::Pickup,
            started: None,
            agent: None,
            caller: Caller::default(),
            hold: None,
            history: Vec::new(),
            verdict: Verdict::default(),
            generation: 0,
            next_clause: 0,
            next_turn: 0,
            reprompts: 0,
            user_turns: 0,
            answers_taken_back: 0,
            last_agent_end: None,
            restarts,
            apology_samples,
            voicemail: None,
            speculation: None,
            out: Vec::new(),
        }
    }

    /// Feeds one event at `now`; returns what to do, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Command> {
        if self.stage == Stage::Ended {
            return Vec::new();
        }
        match event {
            Event::Start => {
                self.started.get_or_insert(now);
            }
            Event::SpeechStarted { after_silence } => self.on_speech_started(after_silence, now),
            Event::SpeechEnded => self.on_speech_ended(now),
            Event::Interim(text) => self.on_interim(text, now),
            Event::Final {
                text,
                speech_final,
                from_finalize,
            } => self.on_final(text, speech_final, from_finalize, now),
            Event::UtteranceEnd => self.on_utterance_end(now),
            Event::Dtmf(digit) => self.on_dtmf(&digit, now),
            Event::LlmDelta { generation, delta } if self.is_speculative(generation) => {
                self.hold_speculative(LlmReport::Delta(delta), now)
            }
            Event::LlmDone { generation } if self.is_speculative(generation) => {
                self.hold_speculative(LlmReport::Done, now)
            }
            Event::LlmFailed { generation, .. } if self.is_speculative(generation) => {
                self.hold_speculative(LlmReport::Failed, now)
            }
            Event::LlmDelta { generation, delta } => self.on_llm_delta(generation, delta, now),
            Event::LlmDone { generation } => self.on_llm_done(generation, now),
            Event::LlmFailed { generation, error } => {
                if self.current_generation() == Some(generation) {
                    self.turn_failed(&error, now);
                }
            }
            Event::TtsAudio { clause, pcm } => self.on_tts_audio(clause, pcm, now),
            Event::TtsDone { clause } => self.on_tts_done(clause, now),
            Event::TtsFailed { clause, error } => {
                if self.owns_clause(clause) {
                    self.turn_failed(&error, now);
                }
            }
            Event::ApologyCached { samples } => {
                self.apology_samples.get_or_insert(samples);
            }
            Event::MarkPlayed { clause } => {
                if let Some(c) = self.clause_mut(clause) {
                    c.played = true;
                }
            }
            Event::FirstFrameOut { turn } => {
                if let Some(t) = self.agent.as_mut().filter(|t| t.id == turn) {
                    t.times.first_frame_at.get_or_insert(now);
                }
            }
            Event::ToolsApplied {
                results,
                close,
                closing_line,
                handoff_line,
            } => self.on_tools_applied(results, close, closing_line, handoff_line, now),
            Event::ChildFailed { child, error } => self.on_child_failed(child, &error, now),
            Event::Machine(event) => self.on_machine(event, now),
            Event::TimeUp => self.time_up(now),
            Event::SocketClosed => self.socket_closed(now),
            Event::Tick => {}
        }
        self.advance(now);
        std::mem::take(&mut self.out)
    }

    /// The rules that are due on time alone, checked after every event.
    fn advance(&mut self, now: Instant) {
        if self.stage == Stage::Ended {
            return;
        }
        self.speculation_tick();
        self.pickup_tick(now);
        self.hold_tick(now);
        self.failures_tick(now);
        self.voicemail_tick(now);
        self.check_turn_done(now);
        self.listening_tick(now);
    }

    // ── reading ─────────────────────────────────────────────────────────────────────────

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The LLM history (without the system prompt): what was said, as the caller heard it.
    pub fn history(&self) -> &[ChatMessage] {
        &self.history
    }

    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// For the tools, which the actor runs (opt-out, call-back, `end_call`).
    pub fn verdict_mut(&mut self) -> &mut Verdict {
        &mut self.verdict
    }

    pub fn caller_spoke(&self) -> bool {
        self.user_turns > 0
    }

    /// Answers dropped because the caller was not finished (`continuation`).
    pub fn answers_taken_back(&self) -> u32 {
        self.answers_taken_back
    }

    pub fn restarts(&self, child: Child) -> usize {
        self.restarts.get(&child).map_or(0, RestartWindow::count)
    }

    /// "thinking" / "speaking" / "closing" / "listening" / …, for `/debug/sessions`.
    pub fn stage_name(&self) -> &'static str {
        match (self.stage, &self.agent) {
            (Stage::Ended, _) => "ended",
            (Stage::Pickup, _) => "pickup",
            (Stage::Voicemail, _) => "voicemail",
            (Stage::GivingUp, _) => "giving_up",
            (_, Some(t)) if t.close_after => "closing",
            (_, Some(_)) if self.hold.is_some() => "holding",
            (_, Some(t)) if t.clauses.is_empty() => "thinking",
            (_, Some(_)) => "speaking",
            (Stage::Closing, None) => "closing",
            _ => "listening",
        }
    }

    pub fn who_speaks(&self) -> &'static str {
        if self.agent.as_ref().is_some_and(|t| t.audible()) {
            "agent"
        } else if self.caller.speaking {
            "caller"
        } else {
            "nobody"
        }
    }

    pub(super) fn current_generation(&self) -> Option<u64> {
        self.agent.as_ref().map(|t| t.generation)
    }

    fn owns_clause(&self, clause: u64) -> bool {
        self.agent
            .as_ref()
            .is_some_and(|t| t.clauses.iter().any(|c| c.id == clause))
    }

    fn clause_mut(&mut self, clause: u64) -> Option<&mut Clause> {
        self.agent
            .as_mut()?
            .clauses
            .iter_mut()
            .find(|c| c.id == clause)
    }

    pub(super) fn emit(&mut self, command: Command) {
        self.out.push(command);
    }

    pub(super) fn record(
        &mut self,
        speaker: Speaker,
        text: String,
        interrupted: bool,
        latency: Option<TurnLatency>,
    ) {
        self.emit(Command::Record {
            speaker,
            text,
            interrupted,
            latency,
        });
    }

    // ── speaking ────────────────────────────────────────────────────────────────────────

    pub(super) fn new_turn(&mut self, kind: TurnKind, now: Instant) -> AgentTurn {
        self.generation += 1;
        self.next_turn += 1;
        AgentTurn::new(self.next_turn, kind, self.generation, now)
    }

    /// Says a fixed text (greeting, re-prompt, closing line) without the LLM.
    pub(super) fn say(&mut self, text: String, kind: TurnKind, close_after: bool, now: Instant) {
        let mut turn = self.new_turn(kind, now);
        turn.close_after = close_after;
        turn.llm_done = true;
        self.agent = Some(turn);
        for piece in ClauseSplitter::whole(&text) {
            self.queue_clause(piece, false);
        }
    }

    /// Says a pre-rendered line as a turn of its own (the time-up line).
    pub(super) fn say_line(&mut self, line: Line, text: String, samples: usize, now: Instant) {
        let mut turn = self.new_turn(TurnKind::Fixed, now);
        turn.close_after = true;
        turn.llm_done = true;
        self.agent = Some(turn);
        self.play_line(line, text, samples, false, now);
    }

    /// Queues a pre-rendered line into the current turn.
    pub(super) fn play_line(
        &mut self,
        line: Line,
        text: String,
        samples: usize,
        filler: bool,
        now: Instant,
    ) {
        self.next_clause += 1;
        let id = self.next_clause;
        let rate = self.cfg.sample_rate;
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        turn.clauses.push(Clause {
            id,
            text,
            filler,
            samples: 0,
            tts_done: true,
            played: false,
            plays_from: None,
            plays_until: None,
        });
        turn.queue_audio(id, samples, rate, now);
        let turn_id = turn.id;
        self.emit(Command::PlayLine {
            turn: turn_id,
            line,
        });
        self.emit(Command::Mark { clause: id });
    }

    pub(super) fn queue_clause(&mut self, text: String, filler: bool) {
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        self.next_clause += 1;
        let id = self.next_clause;
        turn.clauses.push(Clause {
            id,
            text: text.clone(),
            filler,
            samples: 0,
            tts_done: false,
            played: false,
            plays_from: None,
            plays_until: None,
        });
        self.emit(Command::Speak { clause: id, text });
    }

    fn on_tts_audio(&mut self, clause: u64, pcm: Vec<i16>, now: Instant) {
        let rate = self.cfg.sample_rate;
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        if !turn.clauses.iter().any(|c| c.id == clause) || pcm.is_empty() {
            return;
        }
        turn.times.tts_first_at.get_or_insert(now);
        turn.queue_audio(clause, pcm.len(), rate, now);
        let id = turn.id;
        self.emit(Command::Play { turn: id, pcm });
    }

    fn on_tts_done(&mut self, clause: u64, _now: Instant) {
        let Some(c) = self.clause_mut(clause) else {
            return;
        };
        c.tts_done = true;
        if c.samples == 0 {
            c.played = true;
        } else {
            self.emit(Command::Mark { clause });
        }
    }

    /// Ends the agent's turn when it has played out: records what was said, hangs up after a
    /// closing line.
    pub(super) fn check_turn_done(&mut self, now: Instant) {
        let margin = self.cfg.timing.playout_margin;
        let done = self.agent.as_ref().is_some_and(|t| t.finished(now, margin));
        let closing_overdue = self.agent.as_ref().is_some_and(|t| {
            t.close_after && now.saturating_duration_since(t.started) >= self.cfg.timing.closing_cap
        });
        if !closing_overdue && (!done || self.awaiting_continuation(now)) {
            return;
        }
        let Some(turn) = self.agent.take() else {
            return;
        };
        let text = turn.full_text();
        let answered = turn.kind == TurnKind::Answer;
        if !text.is_empty() {
            let latency = answered.then(|| turn.times.latency());
            self.record(Speaker::Agent, text.clone(), false, latency);
            self.history.push(ChatMessage::text("assistant", text));
        }
        if answered {
            self.emit(Command::TurnEnded(turn.times));
        }
        self.last_agent_end = Some(now);
        if turn.close_after {
            self.stage = Stage::Closing;
            self.emit(Command::HangUp);
        }
    }

    /// Stops the agent mid-turn (barge-in, a machine, the time limit, a hang-up): records
    /// what the caller heard of it, up to `heard_at`, as interrupted.
    pub(super) fn cut_agent(&mut self, heard_at: Instant, now: Instant) {
        self.hold = None;
        let Some(turn) = self.agent.take() else {
            return;
        };
        self.generation += 1;
        let heard = turn.heard_by(heard_at);
        if !heard.is_empty() {
            let latency = (turn.kind == TurnKind::Answer).then(|| turn.times.latency());
            self.record(Speaker::Agent, heard.clone(), true, latency);
            self.history.push(ChatMessage::text("assistant", heard));
        }
        self.last_agent_end = Some(now);
    }

    /// Silences the agent now: the socket drops its audio, the children their work.
    pub(super) fn silence_agent(&mut self) {
        self.emit(Command::ClearAudio);
        self.emit(Command::CancelGeneration);
        self.emit(Command::CancelSpeech);
    }

    // ── the end ─────────────────────────────────────────────────────────────────────────

    fn time_up(&mut self, now: Instant) {
        if matches!(self.stage, Stage::Closing | Stage::GivingUp) {
            return;
        }
        if self.agent.is_some() {
            self.silence_agent();
            self.cut_agent(now, now);
        }
        self.stage = Stage::Closing;
        let text = self.cfg.lines.time_up.clone();
        match self.cfg.prerendered.time_up {
            Some(samples) => self.say_line(Line::TimeUp, text, samples, now),
            None => self.say(text, TurnKind::Fixed, true, now),
        }
    }

    fn socket_closed(&mut self, now: Instant) {
        if self.agent.is_some() {
            // The caller hung up while the agent was talking.
            self.cut_agent(now, now);
        }
        let leftover = std::mem::take(&mut self.caller.text).trim().to_string();
        if !leftover.is_empty() {
            self.record(Speaker::Caller, leftover.clone(), false, None);
            self.history.push(ChatMessage::text("user", leftover));
            self.user_turns += 1;
        }
        self.emit(Command::CancelGeneration);
        self.emit(Command::CancelSpeech);
        self.emit(Command::Save);
        self.stage = Stage::Ended;
    }

    /// The outcome when the call is saved: as decided, or from what happened.
    pub fn outcome(&self, qualified: bool) -> ConversationOutcome {
        self.verdict.outcome().unwrap_or(if !self.caller_spoke() {
            ConversationOutcome::NoResponse
        } else if qualified {
            ConversationOutcome::Qualified
        } else {
            ConversationOutcome::HungUp
        })
    }
}
