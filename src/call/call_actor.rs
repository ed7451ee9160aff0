//! `CallActor`: one per live call. It owns the session state and the turn-taking state machine
//! (greeting → listening → thinking → speaking → … → closing), supervises the STT, LLM and TTS
//! children (restarted with backoff within a per-call budget; when the budget is spent the
//! agent plays a cached apology and ends the call with outcome `error`, or `do_not_call` after
//! an opt-out), handles barge-in, and
//! when the call ends writes everything in one transaction and frees the call's token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::clauses::ClauseSplitter;
use super::llm_actor::LlmActor;
use super::messages::*;
use super::outcome::ConversationOutcome;
use super::save::save_or_spool;
use super::spool::SpooledCall;
use super::stt_actor::SttActor;
use super::tools::{self, ToolAction};
use super::transcript::{Turn, TurnLatency};
use super::tts_actor::TtsActor;
use super::verdict::Verdict;
use super::CallProviders;
use crate::actors::campaign_actor::CallEnded;
use crate::actors::{Engine, LiveCall};
use crate::conversation::playbook::{render, Playbook};
use crate::domain::{CallStatus, SuppressionSource};
use crate::media::vad::{Vad, VadEvent};
use crate::providers::deepgram::SttEvent;
use crate::providers::openai::{ChatMessage, LlmDelta, ToolCall};
use crate::scheduling::callback::CallbackRefusal;
use crate::scheduling::{decide_callback, CallbackDecision, CallbackUsage, NextStep};
use crate::store::{AttemptEnd, AttemptRow, Campaign, ConversationSummary, Lead};
use crate::telephony::call_outcome::retry_window;

/// Child restarts a call tolerates before it gives up with an apology.
const RESTART_BUDGET: u32 = 3;
/// Tool-only answers the LLM may chain before it must speak.
const MAX_TOOL_ROUNDS: u32 = 3;

/// Everything a call starts from.
pub struct CallSetup {
    pub call_sid: String,
    pub stream_sid: String,
    pub attempt: AttemptRow,
    pub lead: Lead,
    pub campaign: Campaign,
    pub playbook: Playbook,
    pub sample_rate: u32,
    pub socket: Recipient<SocketCommand>,
    pub engine: Engine,
    pub providers: CallProviders,
    pub campaigns: Recipient<CallEnded>,
    /// Pre-rendered lines for when a provider fails (`None` until the cache has them).
    pub fallback: Option<std::sync::Arc<super::fallback_audio::FallbackLines>>,
}

/// A clause of an agent turn and how far it got.
#[derive(Debug)]
struct Clause {
    id: u64,
    text: String,
    samples: usize,
    tts_done: bool,
    played: bool,
}

/// What the agent is saying now.
struct AgentTurn {
    /// Numbers this turn's audio for the socket.
    id: u64,
    generation: u64,
    clauses: Vec<Clause>,
    splitter: ClauseSplitter,
    llm_done: bool,
    llm_text: String,
    tool_calls: Vec<ToolCall>,
    tool_rounds: u32,
    /// Hang up once this turn has been played.
    close_after: bool,
    speech_end: Option<Instant>,
    final_at: Option<Instant>,
    llm_request_at: Option<Instant>,
    first_token_at: Option<Instant>,
    tts_first_at: Option<Instant>,
    first_frame_at: Option<Instant>,
    /// When the last clause finished playing (to estimate how much of the next was heard).
    last_played_at: Option<Instant>,
}

impl AgentTurn {
    fn new(id: u64, generation: u64) -> AgentTurn {
        AgentTurn {
            id,
            generation,
            clauses: Vec::new(),
            splitter: ClauseSplitter::default(),
            llm_done: false,
            llm_text: String::new(),
            tool_calls: Vec::new(),
            tool_rounds: 0,
            close_after: false,
            speech_end: None,
            final_at: None,
            llm_request_at: None,
            first_token_at: None,
            tts_first_at: None,
            first_frame_at: None,
            last_played_at: None,
        }
    }

    fn finished(&self) -> bool {
        self.llm_done && self.clauses.iter().all(|c| c.tts_done && c.played)
    }

    fn latency(&self) -> TurnLatency {
        let from = self.speech_end.or(self.final_at);
        let ms = |t: Option<Instant>| Some(t?.saturating_duration_since(from?).as_millis() as u64);
        let us = |a: Option<Instant>, b: Option<Instant>| {
            Some(b?.saturating_duration_since(a?).as_micros() as u64)
        };
        TurnLatency {
            final_transcript_ms: ms(self.final_at),
            llm_request_ms: ms(self.llm_request_at),
            llm_first_token_ms: ms(self.first_token_at),
            tts_first_byte_ms: ms(self.tts_first_at),
            first_frame_ms: ms(self.first_frame_at),
            overhead_transcript_to_llm_us: us(self.final_at, self.llm_request_at),
            overhead_tts_to_frame_us: us(self.tts_first_at, self.first_frame_at),
        }
    }
}

pub struct CallActor {
    s: CallSetup,
    vars: HashMap<String, String>,
    stt: Option<Addr<SttActor>>,
    llm: Option<Addr<LlmActor>>,
    tts: Option<Addr<TtsActor>>,
    transcript: Vec<Turn>,
    history: Vec<ChatMessage>,
    tools: Value,
    facts: Map<String, Value>,
    /// The outcome so far and whether the person opted out (sticky).
    verdict: Verdict,
    callback_at: Option<DateTime<Utc>>,
    /// The call-back does not use one of the lead's attempts (`decide_callback`).
    callback_free: bool,
    /// Final transcripts of the caller's current turn.
    user_text: String,
    user_interim: String,
    speech_ended_at: Option<Instant>,
    /// When the caller's current stretch of speech began (VAD).
    speech_started_at: Option<Instant>,
    agent: Option<AgentTurn>,
    generation: u64,
    next_clause: u64,
    next_turn: u64,
    vad: Vad,
    reprompts: u32,
    last_agent_end: Instant,
    restarts: HashMap<Child, u32>,
    giving_up: bool,
    apology: Option<Vec<i16>>,
    finished: bool,
    started_at: DateTime<Utc>,
    last_latency: Option<TurnLatency>,
    /// Caller audio chunks the transcriber's mailbox could not take.
    dropped_audio: u64,
}

impl CallActor {
    pub fn new(setup: CallSetup) -> CallActor {
        let vars = template_vars(&setup.lead);
        let started_at = setup.engine.clock.now();
        let tools = tools::definitions(&setup.playbook);
        let vad = Vad::new(setup.sample_rate);
        CallActor {
            s: setup,
            vars,
            stt: None,
            llm: None,
            tts: None,
            transcript: Vec::new(),
            history: Vec::new(),
            tools,
            facts: Map::new(),
            verdict: Verdict::default(),
            callback_at: None,
            callback_free: false,
            user_text: String::new(),
            user_interim: String::new(),
            speech_ended_at: None,
            speech_started_at: None,
            agent: None,
            generation: 0,
            next_clause: 0,
            next_turn: 0,
            vad,
            reprompts: 0,
            last_agent_end: Instant::now(),
            restarts: HashMap::new(),
            giving_up: false,
            apology: None,
            finished: false,
            started_at,
            last_latency: None,
            dropped_audio: 0,
        }
    }

    fn system_prompt(&self) -> String {
        let p = &self.s.playbook;
        let tz: chrono_tz::Tz = self
            .s
            .campaign
            .timezone
            .parse()
            .unwrap_or(chrono_tz::Asia::Kolkata);
        let local = self.s.engine.clock.now().with_timezone(&tz);
        let mut prompt = render(&p.system_prompt, &self.vars);
        prompt.push_str("\n\nFacts to collect, in order:\n");
        for f in &p.facts {
            let need = if f.required { "required" } else { "optional" };
            prompt.push_str(&format!("- {} ({need}): ask \"{}\"\n", f.name, f.question));
        }
        for o in &p.objections {
            prompt.push_str(&format!("If {}: {}\n", o.when, o.hint));
        }
        // No phone number: the LLM does not need it to talk, and what we send a provider is
        // kept there (logs, training, breaches) beyond our control.
        prompt.push_str(&format!(
            "\nLead: {}. Current local time: {}.\n",
            self.s.lead.name,
            local.format("%A %Y-%m-%dT%H:%M")
        ));
        prompt
    }

    // ── speaking ────────────────────────────────────────────────────────────────────────

    fn new_turn(&mut self) -> AgentTurn {
        self.generation += 1;
        self.next_turn += 1;
        AgentTurn::new(self.next_turn, self.generation)
    }

    /// Says a fixed text (greeting, re-prompt, closing line) without the LLM.
    fn say(&mut self, text: String, close_after: bool) {
        let mut turn = self.new_turn();
        turn.close_after = close_after;
        turn.llm_done = true;
        let mut pieces = turn.splitter.push(&format!("{text} "));
        pieces.extend(turn.splitter.finish());
        self.agent = Some(turn);
        for piece in pieces {
            self.queue_clause(piece);
        }
        self.history.push(ChatMessage::text("assistant", text));
        self.check_turn_done();
    }

    fn queue_clause(&mut self, text: String) {
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        self.next_clause += 1;
        let id = self.next_clause;
        turn.clauses.push(Clause {
            id,
            text: text.clone(),
            samples: 0,
            tts_done: false,
            played: false,
        });
        if let Some(tts) = &self.tts {
            tts.do_send(Speak { clause: id, text });
        }
    }

    fn check_turn_done(&mut self) {
        let done = self.agent.as_ref().is_some_and(AgentTurn::finished);
        if !done {
            return;
        }
        let Some(turn) = self.agent.take() else {
            return;
        };
        let text = turn
            .clauses
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() {
            let latency = turn.final_at.map(|_| turn.latency());
            record_turn_metrics(&turn);
            if let Some(l) = &latency {
                tracing::info!(
                    call_sid = %self.s.call_sid,
                    final_transcript_ms = l.final_transcript_ms,
                    llm_first_token_ms = l.llm_first_token_ms,
                    tts_first_byte_ms = l.tts_first_byte_ms,
                    first_frame_ms = l.first_frame_ms,
                    overhead_us = l.overhead_transcript_to_llm_us.unwrap_or(0) + l.overhead_tts_to_frame_us.unwrap_or(0),
                    "agent turn"
                );
            }
            self.last_latency = latency.clone().or(self.last_latency.take());
            self.push_turn("ai", text, false, latency);
        }
        self.last_agent_end = Instant::now();
        if turn.close_after {
            self.s.socket.do_send(SocketCommand::HangUp);
        }
    }

    fn push_turn(
        &mut self,
        speaker: &'static str,
        text: String,
        interrupted: bool,
        latency: Option<TurnLatency>,
    ) {
        self.transcript.push(Turn {
            speaker,
            text,
            timestamp: self.s.engine.clock.now(),
            interrupted,
            latency,
        });
    }

    /// The caller can hear the agent: its current turn has started playing.
    fn agent_speaking(&self) -> bool {
        self.agent
            .as_ref()
            .is_some_and(|t| t.tts_first_at.is_some())
    }

    /// The agent is busy with a turn (thinking or speaking): caller turns wait.
    fn agent_busy(&self) -> bool {
        self.agent.is_some()
    }

    // ── listening ───────────────────────────────────────────────────────────────────────

    /// Back-channels ("haan", "hmm", "okay") never interrupt; a partial last word counts as
    /// one if it could still become one.
    fn is_backchannel(&self, text: &str) -> bool {
        let words: Vec<String> = text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect();
        let known: Vec<&str> = self
            .s
            .playbook
            .barge_in
            .backchannels
            .iter()
            .flat_map(|b| b.split_whitespace())
            .collect();
        !words.is_empty()
            && words.iter().enumerate().all(|(i, w)| {
                known.contains(&w.as_str())
                    || (i + 1 == words.len() && known.iter().any(|k| k.starts_with(w.as_str())))
            })
    }

    fn barge_in(&mut self, ctx: &mut Context<Self>) {
        let closing = self.agent.as_ref().is_some_and(|t| t.close_after);
        if closing || self.finished {
            return;
        }
        let Some(turn) = self.agent.take() else {
            return;
        };
        self.s.socket.do_send(SocketCommand::Clear);
        self.cancel_children();
        self.generation += 1;
        let spoken = spoken_so_far(&turn, self.s.sample_rate);
        tracing::info!(call_sid = %self.s.call_sid, %spoken, "barge-in");
        if !spoken.is_empty() {
            self.history
                .push(ChatMessage::text("assistant", spoken.clone()));
            self.push_turn("ai", spoken, true, Some(turn.latency()));
        }
        self.last_agent_end = Instant::now();
        let _ = ctx;
    }

    fn cancel_children(&self) {
        if let Some(llm) = &self.llm {
            llm.do_send(CancelGeneration);
        }
        if let Some(tts) = &self.tts {
            tts.do_send(CancelSpeech);
        }
    }

    fn end_of_user_turn(&mut self) {
        let text = std::mem::take(&mut self.user_text).trim().to_string();
        self.user_interim.clear();
        if text.is_empty() || self.finished {
            return;
        }
        self.reprompts = 0;
        let final_at = Instant::now();
        let speech_end = if self.vad.is_speaking() {
            None
        } else {
            self.speech_ended_at.take()
        };
        self.push_turn("user", text.clone(), false, None);
        self.history.push(ChatMessage::text("user", text));
        let user_turns = self
            .transcript
            .iter()
            .filter(|t| t.speaker == "user")
            .count() as u32;
        if user_turns >= self.s.playbook.max_turns {
            let line = render(&self.s.playbook.closing.not_qualified, &self.vars);
            self.say(line, true);
            return;
        }
        let mut turn = self.new_turn();
        turn.speech_end = speech_end.or(Some(final_at));
        turn.final_at = Some(final_at);
        self.agent = Some(turn);
        self.generate();
    }

    fn generate(&mut self) {
        let mut messages = vec![ChatMessage::text("system", self.system_prompt())];
        messages.extend(self.history.iter().cloned());
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        turn.llm_request_at.get_or_insert_with(Instant::now);
        let generation = turn.generation;
        if let Some(llm) = &self.llm {
            llm.do_send(Generate {
                generation,
                messages,
                tools: self.tools.clone(),
            });
        }
    }

    // ── tools ───────────────────────────────────────────────────────────────────────────

    fn apply_tool(&mut self, call: &ToolCall) -> String {
        match tools::parse(&call.function.name, &call.function.arguments) {
            ToolAction::RecordDetails(details) => {
                for (k, v) in &details {
                    self.facts.insert(k.clone(), v.clone());
                }
                format!("recorded {}", Value::Object(details))
            }
            // `end_call` with outcome `do_not_call` is an opt-out as much as the tool is.
            ToolAction::EndCall { outcome }
                if outcome == ConversationOutcome::DoNotCall.as_str() =>
            {
                self.opt_out()
            }
            ToolAction::EndCall { outcome } => {
                self.verdict.propose(&outcome);
                self.mark_closing();
                "the call will end after your goodbye".into()
            }
            ToolAction::ScheduleCallback { .. } if self.verdict.opted_out() => {
                // Whatever the person says after opting out, they are not called again.
                "not booked: the lead asked not to be called again, so no call-back may be \
                 scheduled; say goodbye"
                    .into()
            }
            ToolAction::ScheduleCallback { when } => {
                let floor = self.s.engine.settings.calling.regulatory_hours;
                let window = retry_window(&self.s.campaign, floor);
                let tz = window.timezone;
                let Some(asked) = tools::callback_time(&when, tz) else {
                    return format!("could not read the time {when:?}; ask again");
                };
                let usage = CallbackUsage {
                    free_used: u32::try_from(self.s.lead.free_callbacks_used).unwrap_or(0),
                    attempt_number: u32::try_from(self.s.attempt.attempt_number).unwrap_or(1),
                    max_attempts: u32::try_from(self.s.campaign.max_attempts).unwrap_or(1),
                };
                let now = self.s.engine.clock.now();
                match decide_callback(asked, now, &window, usage) {
                    CallbackDecision::Granted { at, free } => {
                        self.callback_at = Some(at);
                        self.callback_free = free;
                        self.verdict.callback_requested();
                        self.mark_closing();
                        format!(
                            "callback scheduled for {}",
                            at.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                        )
                    }
                    CallbackDecision::Refused(CallbackRefusal::NoAttemptsLeft) => {
                        self.verdict.callback_requested();
                        self.mark_closing();
                        CallbackRefusal::NoAttemptsLeft.to_string()
                    }
                    CallbackDecision::Refused(why) => {
                        let floor = window
                            .floor
                            .map(|f| format!(", and only {f}"))
                            .unwrap_or_default();
                        format!(
                            "{why} (calling hours {:02}:00–{:02}:00 {tz} on {}{floor})",
                            window.start_hour,
                            window.end_hour,
                            window.days.canonical()
                        )
                    }
                }
            }
            ToolAction::DoNotCall => self.opt_out(),
            ToolAction::Invalid(why) => why,
        }
    }

    fn opt_out(&mut self) -> String {
        self.verdict.opt_out();
        self.suppress_now();
        self.mark_closing();
        "the lead will not be called again".into()
    }

    /// Puts the number on the suppression list as soon as the person opts out, not only when
    /// the conversation is saved: a process killed mid-goodbye must not call them again.
    fn suppress_now(&self) {
        let store = self.s.engine.store.clone();
        let phone = self.s.lead.phone.clone();
        let reason = format!(
            "asked not to be called again (campaign {}, call {})",
            self.s.attempt.campaign_id, self.s.call_sid
        );
        let now = self.s.engine.clock.now();
        let call_sid = self.s.call_sid.clone();
        actix::spawn(async move {
            if let Err(e) = store
                .add_suppression(&phone, &reason, SuppressionSource::Call, now)
                .await
            {
                // The conversation's save writes it again in its own transaction.
                tracing::warn!(%call_sid, error = %e, "could not suppress the number yet; the save will");
            }
        });
    }

    fn mark_closing(&mut self) {
        if let Some(turn) = self.agent.as_mut() {
            turn.close_after = true;
        }
    }

    fn llm_done(&mut self) {
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        turn.llm_done = true;
        let rest = turn.splitter.finish();
        let calls = std::mem::take(&mut turn.tool_calls);
        let text = std::mem::take(&mut turn.llm_text);
        let had_text = !text.trim().is_empty();
        if let Some(rest) = rest {
            self.queue_clause(rest);
        }
        self.history.push(ChatMessage {
            role: "assistant".into(),
            content: had_text.then_some(text),
            tool_calls: calls.clone(),
            tool_call_id: None,
        });
        for call in &calls {
            let result = self.apply_tool(call);
            self.history
                .push(ChatMessage::tool_result(&call.id, result));
        }
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        let closing = turn.close_after;
        if !calls.is_empty() && !had_text && !closing && turn.tool_rounds < MAX_TOOL_ROUNDS {
            // Tools only: ask again with their results so the agent says something.
            turn.tool_rounds += 1;
            turn.llm_done = false;
            self.generation += 1;
            turn.generation = self.generation;
            self.generate();
            return;
        }
        if closing && !had_text {
            let line = self.closing_line();
            let mut pieces = ClauseSplitter::default();
            let mut out = pieces.push(&format!("{line} "));
            out.extend(pieces.finish());
            for piece in out {
                self.queue_clause(piece);
            }
        }
        self.check_turn_done();
    }

    fn closing_line(&self) -> String {
        let c = &self.s.playbook.closing;
        let line = match self.verdict.outcome() {
            Some("callback_requested") => &c.callback,
            Some("qualified") => &c.qualified,
            _ if self.s.playbook.is_qualified(&self.facts) => &c.qualified,
            _ => &c.not_qualified,
        };
        render(line, &self.vars)
    }

    // ── failures ────────────────────────────────────────────────────────────────────────

    fn give_up(&mut self, ctx: &mut Context<Self>) {
        if self.giving_up || self.finished {
            return;
        }
        self.giving_up = true;
        tracing::warn!(call_sid = %self.s.call_sid, "restart budget spent; apologising and ending the call");
        self.verdict.failed();
        self.agent = None;
        self.generation += 1;
        self.cancel_children();
        self.s.socket.do_send(SocketCommand::Clear);
        let apology = render(&self.s.playbook.closing.apology, &self.vars);
        if let Some(pcm) = self.apology.clone() {
            self.s.socket.do_send(SocketCommand::Play {
                turn: u64::MAX,
                pcm,
            });
            self.push_turn("ai", apology, false, None);
        }
        self.s.socket.do_send(SocketCommand::HangUp);
        let _ = ctx;
    }

    // ── the end ─────────────────────────────────────────────────────────────────────────

    fn finish(&mut self, reason: String, ctx: &mut Context<Self>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(turn) = self.agent.take() {
            // The caller hung up while the agent was talking.
            let spoken = spoken_so_far(&turn, self.s.sample_rate);
            if !spoken.is_empty() {
                self.push_turn("ai", spoken, true, None);
            }
        }
        let leftover = std::mem::take(&mut self.user_text);
        if !leftover.trim().is_empty() {
            self.push_turn("user", leftover.trim().to_string(), false, None);
        }
        if let Some(stt) = &self.stt {
            stt.do_send(SttClose);
        }
        self.cancel_children();
        tracing::info!(call_sid = %self.s.call_sid, %reason, "call ended");
        let save = self.save();
        ctx.wait(save.into_actor(self).map(|_, act, ctx| {
            act.s.engine.registry.unregister(&act.s.call_sid);
            act.s.campaigns.do_send(CallEnded {
                campaign_id: act.s.attempt.campaign_id,
                scheduled_call_id: act.s.attempt.scheduled_call_id,
            });
            ctx.stop();
        }));
    }

    /// Writes the conversation, the call's end and the lead's verdict in one transaction.
    fn save(&mut self) -> impl std::future::Future<Output = ()> + 'static {
        let spoke = self.transcript.iter().any(|t| t.speaker == "user");
        let outcome = self
            .verdict
            .outcome()
            .map(str::to_string)
            .unwrap_or_else(|| {
                if !spoke {
                    "no_response".into()
                } else if self.s.playbook.is_qualified(&self.facts) {
                    "qualified".into()
                } else {
                    "hung_up".into()
                }
            });
        metrics::counter!(crate::telemetry_metrics::names::CALLS, "outcome" => outcome.clone())
            .increment(1);
        if self.dropped_audio > 0 {
            metrics::counter!(crate::telemetry_metrics::names::AUDIO_DROPPED, "where" => "stt")
                .increment(self.dropped_audio);
        }
        let playbook = self.s.playbook.clone();
        let mut facts = self.facts.clone();
        let transcript = serde_json::to_value(&self.transcript).unwrap_or(Value::Array(Vec::new()));
        let engine = self.s.engine.clone();
        let openai = self.s.providers.openai.clone();
        let attempt = self.s.attempt.clone();
        let duration = (engine.clock.now() - self.started_at).num_seconds();
        let opted_out = self.verdict.opted_out();
        let next = match self.callback_at {
            // A lead who asked not to be called again is never called back.
            Some(at) if !opted_out => NextStep::RetryAt(at),
            _ => NextStep::Done,
        };
        let free_callback = self.callback_free;
        let history = self.history.clone();
        let started_at = self.started_at;
        async move {
            if spoke && !playbook.is_qualified(&facts) && outcome != "error" {
                fill_missing_facts(&openai, &playbook, &history, &mut facts).await;
            }
            let refused =
                ["not_interested", "do_not_call", "wrong_number"].contains(&outcome.as_str());
            let qualified = spoke.then(|| !refused && playbook.is_qualified(&facts));
            let summary = ConversationSummary {
                transcript,
                final_outcome: outcome.clone(),
                lead_qualified: qualified,
                extracted_data: Value::Object(facts),
                free_callback,
                // Also written when the tool ran (`suppress_now`); this is the backup.
                opted_out,
            };
            let end = AttemptEnd {
                status: CallStatus::Completed,
                failure_reason: None,
                answered_at: Some(started_at),
                duration_seconds: Some(duration),
                recording_url: None,
                next,
            };
            let now = engine.clock.now();
            let record = SpooledCall::new(&attempt, &end, &summary, now);
            if let Err(e) = save_or_spool(&engine.store, &engine.spool, &record).await {
                // Neither the database nor the disk took it: the one case left to a human.
                tracing::error!(call_sid = %record.call_sid, error = %e, record = %serde_json::to_string(&record).unwrap_or_default(),
                    "could not save or spool the conversation");
            }
        }
    }

    fn state(&self) -> Value {
        let stage = if self.finished {
            "ended"
        } else if let Some(t) = &self.agent {
            if t.close_after {
                "closing"
            } else if t.clauses.is_empty() {
                "thinking"
            } else {
                "speaking"
            }
        } else {
            "listening"
        };
        let speaking = if self.agent.as_ref().is_some_and(|t| !t.clauses.is_empty()) {
            "agent"
        } else if self.vad.is_speaking() {
            "caller"
        } else {
            "nobody"
        };
        json!({
            "stage": stage,
            "turn": self.transcript.len(),
            "speaking": speaking,
            "facts": self.facts,
            "children": {
                "stt": {"restarts": self.restarts.get(&Child::Stt).copied().unwrap_or(0)},
                "llm": {"restarts": self.restarts.get(&Child::Llm).copied().unwrap_or(0)},
                "tts": {"restarts": self.restarts.get(&Child::Tts).copied().unwrap_or(0)},
            },
            "last_latency": self.last_latency,
            "dropped_audio_chunks": self.dropped_audio,
        })
    }
}

/// What the caller heard of a turn: clauses played in full, and the part of the next one that
/// had time to play (real-time playout), cut at a word.
fn spoken_so_far(turn: &AgentTurn, sample_rate: u32) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut since = turn.last_played_at.or(turn.first_frame_at);
    for clause in &turn.clauses {
        if clause.played {
            words.push(clause.text.clone());
            continue;
        }
        let (Some(start), true) = (since.take(), clause.samples > 0) else {
            break;
        };
        let length = Duration::from_secs_f64(clause.samples as f64 / sample_rate as f64);
        let fraction = (start.elapsed().as_secs_f64() / length.as_secs_f64()).clamp(0.0, 1.0);
        let cut = (clause.text.chars().count() as f64 * fraction) as usize;
        let heard: String = clause.text.chars().take(cut).collect();
        let heard = match heard.rfind(' ') {
            Some(i) if cut < clause.text.chars().count() => heard[..i].to_string(),
            _ => heard,
        };
        if !heard.trim().is_empty() {
            words.push(heard.trim().to_string());
        }
        break;
    }
    words.join(" ")
}

/// Per-turn figures for `/metrics`.
fn record_turn_metrics(turn: &AgentTurn) {
    use crate::telemetry_metrics::names;
    let secs = |a: Option<Instant>, b: Option<Instant>| {
        Some(b?.saturating_duration_since(a?).as_secs_f64())
    };
    if let Some(s) = secs(turn.speech_end.or(turn.final_at), turn.first_frame_at) {
        metrics::histogram!(names::TURN_LATENCY).record(s);
    }
    if let Some(s) = secs(turn.llm_request_at, turn.first_token_at) {
        metrics::histogram!(names::PROVIDER_TTFB, "provider" => "openai").record(s);
    }
    if let Some(s) = secs(turn.first_token_at, turn.tts_first_at) {
        metrics::histogram!(names::PROVIDER_TTFB, "provider" => "elevenlabs").record(s);
    }
    if let Some(s) = secs(turn.speech_end, turn.final_at) {
        metrics::histogram!(names::PROVIDER_TTFB, "provider" => "deepgram").record(s);
    }
    if let Some(s) = secs(turn.final_at, turn.llm_request_at) {
        metrics::histogram!(names::RUNTIME_OVERHEAD, "stage" => "transcript_to_llm").record(s);
    }
    if let Some(s) = secs(turn.tts_first_at, turn.first_frame_at) {
        metrics::histogram!(names::RUNTIME_OVERHEAD, "stage" => "tts_to_frame").record(s);
    }
}

/// The values a playbook's text may use. An extra CSV column holding a phone number (an
/// alternate number, a WhatsApp number) is left out: templates reach the LLM's prompt.
fn template_vars(lead: &Lead) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = lead
        .attributes
        .0
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .filter(|(_, v)| crate::domain::Phone::parse(v).is_err())
        .collect();
    vars.insert("lead_name".into(), lead.name.clone());
    vars.insert("name".into(), lead.name.clone());
    for (k, v) in [
        ("property_type", &lead.property_type),
        ("location", &lead.location),
        ("budget", &lead.budget),
        ("email", &lead.email),
    ] {
        vars.insert(k.into(), v.clone().unwrap_or_default());
    }
    vars
}

/// Asks the LLM once, with a JSON schema, for required facts the tools missed. Best effort:
/// if the LLM is unreachable, what the tools gathered stands.
async fn fill_missing_facts(
    openai: &crate::providers::openai::OpenAiClient,
    playbook: &Playbook,
    history: &[ChatMessage],
    facts: &mut Map<String, Value>,
) {
    let properties: Map<String, Value> = playbook
        .facts
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                json!({"type": ["string", "null"], "description": f.question}),
            )
        })
        .collect();
    let schema = json!({"type": "object", "properties": properties});
    let transcript: String = history
        .iter()
        .filter(|m| m.role == "user" || m.role == "assistant")
        .filter_map(|m| m.content.as_ref().map(|c| format!("{}: {c}\n", m.role)))
        .collect();
    let messages = vec![
        ChatMessage::text(
            "system",
            "Extract the lead's facts from this call transcript. Use null for facts not said.",
        ),
        ChatMessage::text("user", transcript),
    ];
    let Ok(Ok(found)) =
        tokio::time::timeout(Duration::from_secs(5), openai.extract(&messages, &schema)).await
    else {
        return;
    };
    for (k, v) in found.as_object().into_iter().flatten() {
        if !v.is_null() && v.as_str() != Some("") && !facts.contains_key(k) {
            facts.insert(k.clone(), v.clone());
        }
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Caller audio arrives 5–50 times a second; room for a second of it.
        ctx.set_mailbox_capacity(64);
        let me = ctx.address();
        let (p, rate, lang) = (
            self.s.providers.clone(),
            self.s.sample_rate,
            self.s.playbook.language.clone(),
        );
        let (stt_to, llm_to, tts_to, fail_to) = (
            me.clone().recipient(),
            me.clone().recipient(),
            me.clone().recipient(),
            me.clone().recipient::<ChildFailed>(),
        );
        let (f1, f2) = (fail_to.clone(), fail_to.clone());
        let deepgram = p.deepgram.clone();
        let lang2 = lang.clone();
        // The children's logs carry the call's sid (the lead folds this into the call's span).
        let span = tracing::info_span!("call", call_sid = %self.s.call_sid);
        let (span_stt, span_llm, span_tts) = (span.clone(), span.clone(), span);
        self.stt = Some(Supervisor::start(move |_| {
            SttActor::new(deepgram, rate, lang2, stt_to, fail_to, span_stt)
        }));
        let openai = p.openai.clone();
        self.llm = Some(Supervisor::start(move |_| {
            LlmActor::new(openai, llm_to, f1, span_llm)
        }));
        let (eleven, voice) = (
            p.elevenlabs.clone(),
            self.s.playbook.persona.voice_id.clone(),
        );
        self.tts = Some(Supervisor::start(move |_| {
            TtsActor::new(eleven, voice, rate, lang, tts_to, f2, span_tts)
        }));
        self.s.engine.registry.attach(LiveCall {
            call_sid: self.s.call_sid.clone(),
            campaign_id: self.s.attempt.campaign_id,
            lead_id: self.s.attempt.lead_id,
            scheduled_call_id: self.s.attempt.scheduled_call_id,
            attempt: self.s.attempt.attempt_number,
            lead_name: self.s.lead.name.clone(),
            phone: self.s.lead.phone.clone(),
            // Its media is up: it was answered. The dial time is not known here.
            status: CallStatus::InProgress,
            dialed_at: self.started_at,
            actor: Some(me),
        });

        let apology = render(&self.s.playbook.closing.apology, &self.vars);
        if let Some(tts) = &self.tts {
            tts.do_send(Prefetch {
                key: "apology",
                text: apology,
            });
        }
        let greeting = render(&self.s.playbook.greeting, &self.vars);
        self.say(greeting, false);

        ctx.run_interval(Duration::from_millis(250), |act, ctx| act.silence_tick(ctx));
        let limit =
            Duration::from_secs(u64::from(self.s.engine.settings.max_call_duration_minutes) * 60);
        ctx.run_later(limit, |act, ctx| act.time_up(ctx));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.s.engine.registry.unregister(&self.s.call_sid);
    }
}

impl CallActor {
    fn silence_tick(&mut self, ctx: &mut Context<Self>) {
        if self.finished || self.giving_up || self.agent_busy() || self.vad.is_speaking() {
            return;
        }
        if !self.user_text.is_empty() {
            // The caller spoke while the agent was busy; answer now that it is free.
            self.end_of_user_turn();
            return;
        }
        let wait = Duration::from_secs(u64::from(self.s.playbook.silence.reprompt_after_seconds));
        if self.last_agent_end.elapsed() < wait || self.vad.silence_ms() < wait.as_millis() as u32 {
            return;
        }
        if self.reprompts < self.s.playbook.silence.hang_up_after_reprompts {
            self.reprompts += 1;
            let line = self.s.playbook.silence.reprompt.clone();
            self.say(render(&line, &self.vars), false);
        } else {
            self.verdict.propose("no_response");
            let line = render(&self.s.playbook.closing.not_qualified, &self.vars);
            self.say(line, true);
        }
        let _ = ctx;
    }

    fn time_up(&mut self, ctx: &mut Context<Self>) {
        if self.finished {
            return;
        }
        if self.agent.is_some() {
            self.s.socket.do_send(SocketCommand::Clear);
            self.cancel_children();
            self.agent = None;
        }
        let line = render(&self.s.playbook.closing.time_up, &self.vars);
        self.say(line, true);
        let _ = ctx;
    }
}

impl Handler<InboundAudio> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: InboundAudio, ctx: &mut Context<Self>) {
        match self.vad.push(&msg.0) {
            Some(VadEvent::SpeechStarted) => {
                self.speech_started_at = Some(Instant::now());
                self.speech_ended_at = None;
            }
            // The VAD decides after its hang-over; the speech ended that much earlier.
            Some(VadEvent::SpeechEnded) => {
                self.speech_ended_at = Instant::now().checked_sub(Duration::from_millis(200))
            }
            None => {}
        }
        if let Some(stt) = &self.stt {
            if stt.try_send(SttAudio(msg.0)).is_err() {
                self.dropped_audio += 1;
            }
        }
        let long_enough = self.vad.speech_ms() >= self.s.playbook.barge_in.min_speech_ms;
        let only_backchannel =
            !self.user_interim.is_empty() && self.is_backchannel(&self.user_interim);
        // Only speech that began while the agent was audible interrupts it.
        let over_the_agent = match (
            self.speech_started_at,
            self.agent.as_ref().and_then(|t| t.tts_first_at),
        ) {
            (Some(speech), Some(audio)) => speech >= audio,
            _ => false,
        };
        if over_the_agent && long_enough && !only_backchannel {
            self.barge_in(ctx);
        }
    }
}

impl Handler<FromStt> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FromStt, ctx: &mut Context<Self>) {
        match msg.0 {
            SttEvent::Interim(text) => {
                if self.agent_speaking() && !self.is_backchannel(&text) {
                    self.barge_in(ctx);
                }
                self.user_interim = text;
            }
            SttEvent::Final { text, speech_final } => {
                self.user_interim.clear();
                if !text.is_empty() {
                    if self.agent_speaking() {
                        if self.is_backchannel(&text) {
                            return;
                        }
                        self.barge_in(ctx);
                    }
                    if !self.user_text.is_empty() {
                        self.user_text.push(' ');
                    }
                    self.user_text.push_str(&text);
                }
                if speech_final && !self.agent_busy() {
                    self.end_of_user_turn();
                }
            }
            SttEvent::UtteranceEnd if !self.agent_busy() => self.end_of_user_turn(),
            _ => {}
        }
    }
}

impl Handler<FromLlm> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FromLlm, ctx: &mut Context<Self>) {
        let current = self.agent.as_ref().map(|t| t.generation);
        match msg {
            FromLlm::Delta { generation, delta } if Some(generation) == current => match delta {
                LlmDelta::Text(text) => {
                    let Some(turn) = self.agent.as_mut() else {
                        return;
                    };
                    turn.first_token_at.get_or_insert_with(Instant::now);
                    turn.llm_text.push_str(&text);
                    let pieces = turn.splitter.push(&text);
                    for piece in pieces {
                        self.queue_clause(piece);
                    }
                }
                LlmDelta::ToolCall(call) => {
                    if let Some(turn) = self.agent.as_mut() {
                        turn.first_token_at.get_or_insert_with(Instant::now);
                        turn.tool_calls.push(call);
                    }
                }
            },
            FromLlm::Done { generation } if Some(generation) == current => self.llm_done(),
            FromLlm::Failed { generation, error } if Some(generation) == current => {
                tracing::warn!(call_sid = %self.s.call_sid, %error, "LLM failed; retrying after the restart");
                ctx.run_later(Duration::from_millis(300), move |act, _| {
                    if act.agent.as_ref().map(|t| t.generation) == Some(generation)
                        && !act.giving_up
                    {
                        act.generate();
                    }
                });
            }
            _ => {}
        }
    }
}

impl Handler<FromTts> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FromTts, ctx: &mut Context<Self>) {
        match msg {
            FromTts::Audio { clause, pcm } => {
                let Some(turn) = self.agent.as_mut() else {
                    return;
                };
                let Some(c) = turn.clauses.iter_mut().find(|c| c.id == clause) else {
                    return;
                };
                c.samples += pcm.len();
                turn.tts_first_at.get_or_insert_with(Instant::now);
                self.s
                    .socket
                    .do_send(SocketCommand::Play { turn: turn.id, pcm });
            }
            FromTts::Done { clause } => {
                let Some(turn) = self.agent.as_mut() else {
                    return;
                };
                if let Some(c) = turn.clauses.iter_mut().find(|c| c.id == clause) {
                    c.tts_done = true;
                    if c.samples == 0 {
                        c.played = true;
                    } else {
                        self.s
                            .socket
                            .do_send(SocketCommand::Mark(format!("c{clause}")));
                    }
                }
                self.check_turn_done();
            }
            FromTts::Failed { clause, error } => {
                tracing::warn!(call_sid = %self.s.call_sid, clause, %error, "TTS failed");
                // Re-speak what was not synthesised, once the restarted child is up.
                ctx.run_later(Duration::from_millis(300), move |act, _| {
                    if act.giving_up {
                        return;
                    }
                    let Some(turn) = act.agent.as_ref() else {
                        return;
                    };
                    let again: Vec<(u64, String)> = turn
                        .clauses
                        .iter()
                        .filter(|c| !c.tts_done)
                        .map(|c| (c.id, c.text.clone()))
                        .collect();
                    if let Some(tts) = &act.tts {
                        for (id, text) in again {
                            tts.do_send(Speak { clause: id, text });
                        }
                    }
                });
            }
            FromTts::Cached {
                key: "apology",
                pcm,
            } => self.apology = Some(pcm),
            FromTts::Cached { .. } => {}
        }
    }
}

impl Handler<ChildFailed> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: ChildFailed, ctx: &mut Context<Self>) {
        let child = match msg.child {
            Child::Stt => "stt",
            Child::Llm => "llm",
            Child::Tts => "tts",
        };
        metrics::counter!(crate::telemetry_metrics::names::RESTARTS, "child" => child).increment(1);
        let count = self.restarts.entry(msg.child).or_insert(0);
        *count += 1;
        let total: u32 = self.restarts.values().sum();
        tracing::warn!(call_sid = %self.s.call_sid, child = ?msg.child, error = %msg.error, total, "child failed; restarted");
        if total > RESTART_BUDGET {
            self.give_up(ctx);
        }
    }
}

impl Handler<MarkPlayed> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: MarkPlayed, _: &mut Context<Self>) {
        let Some(id) = msg.0.strip_prefix('c').and_then(|n| n.parse::<u64>().ok()) else {
            return;
        };
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        if let Some(c) = turn.clauses.iter_mut().find(|c| c.id == id) {
            c.played = true;
            turn.last_played_at = Some(Instant::now());
        }
        self.check_turn_done();
    }
}

impl Handler<FirstFrameOut> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FirstFrameOut, _: &mut Context<Self>) {
        if let Some(turn) = self.agent.as_mut().filter(|t| t.id == msg.turn) {
            turn.first_frame_at.get_or_insert(msg.at);
        }
    }
}

impl Handler<CallerDtmf> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: CallerDtmf, _: &mut Context<Self>) {
        let note = format!("[the caller pressed {} on the keypad]", msg.0);
        if !self.user_text.is_empty() {
            self.user_text.push(' ');
        }
        self.user_text.push_str(&note);
        if !self.agent_busy() {
            self.end_of_user_turn();
        }
    }
}

impl Handler<TimeUp> for CallActor {
    type Result = ();
    fn handle(&mut self, _: TimeUp, ctx: &mut Context<Self>) {
        self.time_up(ctx);
    }
}

impl Handler<SocketClosed> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: SocketClosed, ctx: &mut Context<Self>) {
        self.finish(msg.reason, ctx);
    }
}

/// `GET /debug/sessions`: the call's live state.
#[derive(Message)]
#[rtype(result = "Value")]
pub struct GetCallState;

impl Handler<GetCallState> for CallActor {
    type Result = MessageResult<GetCallState>;
    fn handle(&mut self, _: GetCallState, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state())
    }
}
