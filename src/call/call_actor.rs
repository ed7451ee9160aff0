//! `CallActor`: one per live call — the wiring around the turn-taking core
//! (`crate::call::turn`). It turns the socket's and the children's messages into the core's
//! events, carries out the core's commands (audio to the socket, work to the STT, LLM and TTS
//! children, hang-up, save, pausing the campaign), runs the tools the LLM calls, feeds the
//! answering-machine detector, and when the call ends writes everything in one transaction and
//! frees the call's token. Every handler runs inside the call's tracing span (`call_sid`).

mod fact_extraction;
mod tool_calls;
mod turn_metrics;
mod turn_setup;
mod view;

use fact_extraction::fill_missing_facts;
use turn_metrics::record_turn_metrics;
use turn_setup::turn_config;
pub use view::GetCallState;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::fallback_audio::FallbackLines;
use super::handoff::CallHandoff;
use super::llm_actor::LlmActor;
use super::machine_detection::{MachineDetector, MachineEvent};
use super::messages::*;
use super::outcome::ConversationOutcome;
use super::save::save_or_spool;
use super::spool::SpooledCall;
use super::stt_actor::SttActor;
use super::tools;
use super::transcript::{Turn, TurnLatency};
use super::tts_actor::TtsActor;
use super::turn::{Command, Event, Line, TurnTaking};
use super::CallProviders;
use crate::actors::campaign_actor::{CallEnded, ProviderRefused};
use crate::actors::CampaignSupervisor;
use crate::actors::{Engine, LiveCall};
use crate::conversation::playbook::{render, Playbook};
use crate::domain::CallStatus;
use crate::media::vad::{Vad, VadEvent};
use crate::providers::deepgram::SttEvent;
use crate::providers::openai::ChatMessage;
use crate::scheduling::NextStep;
use crate::store::{AttemptEnd, AttemptRow, Campaign, ConversationSummary, Lead};
use crate::telephony::call_outcome::next_after_voicemail;
use crate::telephony::exotel::CallRef;

/// Tool-only answers the LLM may chain before it must speak.
const MAX_TOOL_ROUNDS: u32 = 3;
/// How often the core's clock rules are checked.
const TICK: Duration = Duration::from_millis(100);
/// Our VAD reports the end of speech after its hang-over; the speech ended that much earlier.
const VAD_HANGOVER: Duration = Duration::from_millis(200);
/// How long the save waits for the call's recording to be finalised (its socket has just
/// closed, so it is normally a few milliseconds): the saved call and its `call.ended` event
/// then link it. A recording finalised later is still recorded on the call, unlinked in the
/// event.
const RECORDING_WAIT: Duration = Duration::from_secs(2);

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
    pub campaigns: Addr<CampaignSupervisor>,
    /// Pre-rendered lines for when a provider fails (`None` until the cache has them).
    pub fallback: Option<Arc<FallbackLines>>,
    /// The socket's recording of the call (`RECORDINGS_DIR`): its name once finalised.
    pub recording: Option<crate::media::recording::RecordingDone>,
}

pub struct CallActor {
    /// Counts this call in `voice_actors{kind="call"}` until the actor is dropped.
    _live: crate::telemetry_metrics::LiveActor,
    s: CallSetup,
    span: tracing::Span,
    vars: HashMap<String, String>,
    core: TurnTaking,
    detector: MachineDetector,
    stt: Option<Addr<SttActor>>,
    llm: Option<Addr<LlmActor>>,
    tts: Option<Addr<TtsActor>>,
    transcript: Vec<Turn>,
    /// Whether `transfer_to_human` is offered, and the hand-off once decided.
    handoff: CallHandoff,
    /// The hand-off line to say after the tools ran (rendered), told to the core once.
    handoff_line: Option<String>,
    facts: Map<String, Value>,
    callback_at: Option<DateTime<Utc>>,
    /// The call-back does not use one of the lead's attempts (`decide_callback`).
    callback_free: bool,
    /// A tool asked to end the call after the goodbye (told to the core with the results).
    closing: bool,
    vad: Vad,
    /// The apology synthesised at call start, when there are no pre-rendered lines.
    apology: Option<Arc<[i16]>>,
    finished: bool,
    /// The greeting's prepared audio was used up or missing: no more lookups.
    greeting_said: bool,
    started_at: DateTime<Utc>,
    last_latency: Option<TurnLatency>,
    /// Caller audio chunks the transcriber's mailbox could not take.
    dropped_audio: u64,
    /// Bumped whenever the transcript or the facts change (a turn can also be taken back,
    /// so their length alone would miss an edit): with the stage, what the mirror compares.
    session_edits: u64,
    /// The stage and edit count last handed to the session mirror.
    mirrored: Option<(&'static str, u64)>,
}

impl CallActor {
    pub fn new(setup: CallSetup) -> CallActor {
        let vars = super::template_vars::of(&setup.lead);
        let started_at = setup.engine.clock.now();
        let flow_mode =
            setup.engine.settings.exotel.connect_mode == crate::config::ConnectMode::Flow;
        let handoff = CallHandoff::new(&setup.playbook, &setup.campaign, flow_mode);
        let vad = Vad::new(setup.sample_rate);
        // At ERROR level, so the span is enabled whenever any line is logged: an INFO span is
        // filtered out with `RUST_LOG=warn`, and the call's warnings would lose their call_sid.
        let span = tracing::error_span!("call", call_sid = %setup.call_sid);
        let core = TurnTaking::new(turn_config(&setup, &vars));
        let detector = MachineDetector::new(&setup.playbook, setup.sample_rate, Instant::now());
        CallActor {
            s: setup,
            span,
            _live: crate::telemetry_metrics::LiveActor::new(
                crate::telemetry_metrics::ActorKind::Call,
            ),
            vars,
            core,
            detector,
            stt: None,
            llm: None,
            tts: None,
            transcript: Vec::new(),
            handoff,
            handoff_line: None,
            facts: Map::new(),
            callback_at: None,
            callback_free: false,
            closing: false,
            vad,
            apology: None,
            finished: false,
            greeting_said: false,
            started_at,
            last_latency: None,
            dropped_audio: 0,
            session_edits: 0,
            mirrored: None,
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
        if let Some(people) = self.handoff.prompt(self.s.engine.clock.now()) {
            prompt.push_str(&people);
            prompt.push('\n');
        }
        if self.s.engine.settings.llm_speak_with_tools {
            prompt.push('\n');
            prompt.push_str(tools::SPEAK_WITH_TOOLS);
            prompt.push('\n');
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

    // ── the core ────────────────────────────────────────────────────────────────────────

    /// Feeds the core one event and carries out what it asks.
    fn drive(&mut self, event: Event, ctx: &mut Context<Self>) {
        let commands = self.core.handle(event, Instant::now());
        for command in commands {
            self.execute(command, ctx);
        }
    }

    fn execute(&mut self, command: Command, ctx: &mut Context<Self>) {
        match command {
            Command::Speak { clause, text } => {
                if let Some(pcm) = self.prepared_greeting(&text) {
                    // Synthesised while the phone rang: played as if the TTS had answered.
                    self.drive(Event::TtsAudio { clause, pcm }, ctx);
                    self.drive(Event::TtsDone { clause }, ctx);
                    return;
                }
                if let Some(tts) = &self.tts {
                    tts.do_send(Speak { clause, text });
                }
            }
            Command::Play { turn, pcm } => self.s.socket.do_send(SocketCommand::Play { turn, pcm }),
            Command::PlayLine { turn, line } => {
                if let Some(pcm) = self.line_audio(line) {
                    self.s.socket.do_send(SocketCommand::Play {
                        turn,
                        pcm: pcm.to_vec(),
                    });
                }
            }
            Command::Mark { clause } => self
                .s
                .socket
                .do_send(SocketCommand::Mark(format!("c{clause}"))),
            Command::PauseAudio => {
                tracing::info!("caller speaks over the agent: holding its audio");
                self.s.socket.do_send(SocketCommand::Pause);
            }
            Command::ResumeAudio => {
                tracing::info!("no words: the agent carries on");
                self.s.socket.do_send(SocketCommand::Resume);
            }
            Command::ClearAudio => {
                tracing::info!("barge-in: clearing the agent's audio");
                self.s.socket.do_send(SocketCommand::Clear);
            }
            Command::FinalizeTranscript => {
                if let Some(stt) = &self.stt {
                    stt.do_send(SttFinalize);
                }
            }
            Command::TakeBackCallerTurn => {
                tracing::info!("the caller went on: the answer to their words is dropped");
                metrics::counter!(crate::telemetry_metrics::names::ANSWERS_TAKEN_BACK).increment(1);
                if let Some(i) = self
                    .transcript
                    .iter()
                    .rposition(|t| t.speaker == crate::call::transcript::Speaker::Caller)
                {
                    self.transcript.remove(i);
                    self.session_edits += 1;
                }
            }
            Command::Generate {
                generation,
                messages,
            } => {
                let mut all = vec![ChatMessage::text("system", self.system_prompt())];
                all.extend(messages);
                if let Some(llm) = &self.llm {
                    llm.do_send(Generate {
                        generation,
                        messages: all,
                        // Rebuilt each time: the team's hours may end mid-call.
                        tools: tools::definitions(
                            &self.s.playbook,
                            self.handoff.tool(self.s.engine.clock.now()),
                        ),
                    });
                }
            }
            Command::SpeculationSettled { adopted } => {
                let result = if adopted { "adopted" } else { "dropped" };
                tracing::debug!(result, "speculative answer settled");
                metrics::counter!(crate::telemetry_metrics::names::SPECULATIONS, "result" => result)
                    .increment(1);
            }
            Command::CancelGeneration => {
                if let Some(llm) = &self.llm {
                    llm.do_send(CancelGeneration);
                }
            }
            Command::CancelSpeech => {
                if let Some(tts) = &self.tts {
                    tts.do_send(CancelSpeech);
                }
            }
            Command::ApplyTools { calls } => {
                self.closing = false;
                let results = calls
                    .iter()
                    .map(|call| (call.id.clone(), self.apply_tool(call)))
                    .collect();
                let close = self.closing;
                let closing_line = self.closing_line();
                let handoff_line = self.handoff_line.take();
                self.drive(
                    Event::ToolsApplied {
                        results,
                        close,
                        closing_line,
                        handoff_line,
                    },
                    ctx,
                );
            }
            Command::Record {
                speaker,
                text,
                interrupted,
                latency,
            } => {
                if let Some(l) = &latency {
                    self.last_latency = Some(l.clone());
                }
                self.transcript.push(Turn {
                    speaker,
                    text,
                    timestamp: self.s.engine.clock.now(),
                    interrupted,
                    latency,
                });
                self.session_edits += 1;
            }
            Command::TurnEnded(times) => {
                record_turn_metrics(&times);
                let l = times.latency();
                tracing::info!(
                    final_transcript_ms = l.final_transcript_ms,
                    llm_first_token_ms = l.llm_first_token_ms,
                    tts_first_byte_ms = l.tts_first_byte_ms,
                    first_frame_ms = l.first_frame_ms,
                    overhead_us = l.overhead_transcript_to_llm_us.unwrap_or(0)
                        + l.overhead_tts_to_frame_us.unwrap_or(0),
                    "agent turn"
                );
            }
            Command::HangUp if self.handoff.requested() => self.hand_over(ctx),
            Command::HangUp => self.s.socket.do_send(SocketCommand::HangUp),
            Command::Save => self.finish(ctx),
            Command::PauseCampaign { reason } => {
                tracing::error!(%reason, "a provider refused us for good; the campaign will pause");
                self.s.campaigns.do_send(ProviderRefused {
                    campaign_id: self.s.attempt.campaign_id,
                    reason,
                });
            }
        }
    }

    fn line_audio(&self, line: Line) -> Option<Arc<[i16]>> {
        let f = self.s.fallback.as_ref();
        match line {
            Line::Apology => f
                .map(|f| f.apology.pcm.clone())
                .or_else(|| self.apology.clone()),
            Line::OneMoment => f.map(|f| f.one_moment.pcm.clone()),
            Line::TimeUp => f.map(|f| f.time_up.pcm.clone()),
        }
    }

    /// Feeds the detector's events to the core: the one a push returned, then any it queued
    /// (one push can finish the verdict and hear the beep).
    fn machine_events(&mut self, first: Option<MachineEvent>, ctx: &mut Context<Self>) {
        let mut event = first;
        while let Some(e) = event {
            self.drive(Event::Machine(e), ctx);
            event = self.detector.poll_event();
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let event = self.detector.tick(Instant::now());
        self.machine_events(event, ctx);
        self.drive(Event::Tick, ctx);
        // Checked on the tick, not on each event: the audio handlers do no mirror work, and
        // changes within 100 ms go out as one snapshot anyway.
        self.mirror_session();
    }

    // ── the end ─────────────────────────────────────────────────────────────────────────

    /// The hand-off line was heard: record the transfer (and its `call.transferred` event)
    /// keyed by the call sid, then close the stream — Exotel's flow moves on to the Passthru,
    /// which reads that record, so it must be written first.
    fn hand_over(&mut self, ctx: &mut Context<Self>) {
        self.core.verdict_mut().transferred();
        let now = self.s.engine.clock.now();
        let summary = super::handoff::summary(&self.s.lead.name, &self.facts, &self.transcript);
        let transfer = super::handoff::new_transfer(
            &self.s.call_sid,
            &self.s.attempt,
            &self.facts,
            summary,
            now,
        );
        let store = self.s.engine.store.clone();
        let span = self.span.clone();
        let record = async move { store.record_transfer(&transfer, now).await };
        ctx.wait(record.into_actor(self).map(move |recorded, act, _| {
            let _span = span.entered();
            if let Err(e) = recorded {
                // The Passthru will find no transfer and take the hang-up branch.
                tracing::error!(error = %e, "the transfer could not be recorded; the flow will hang up");
            }
            act.s.socket.do_send(SocketCommand::HangUp);
        }));
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
        if self.finished {
            return;
        }
        // The session as it ended; its key is deleted once the conversation is saved, so a
        // reader finds one or the other, never neither.
        self.mirror_session();
        self.finished = true;
        if let Some(stt) = &self.stt {
            stt.do_send(SttClose);
        }
        tracing::info!("call ended");
        let save = self.save();
        let span = self.span.clone();
        ctx.wait(save.into_actor(self).map(move |_, act, ctx| {
            let _span = span.entered();
            act.s.engine.session_mirror.ended(&act.s.call_sid);
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
        let spoke = self.core.caller_spoke();
        let outcome = self.core.outcome(self.s.playbook.is_qualified(&self.facts));
        metrics::counter!(crate::telemetry_metrics::names::CALLS, "outcome" => outcome.as_str())
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
        let opted_out = self.core.verdict().opted_out();
        let next = match self.callback_at {
            // A lead who asked not to be called again is never called back.
            Some(at) if !opted_out => NextStep::RetryAt(at),
            _ => NextStep::Done,
        };
        let free_callback = self.callback_free;
        let history = self.core.history().to_vec();
        let started_at = self.started_at;
        let campaign = self.s.campaign.clone();
        let recording = self.s.recording.take();
        async move {
            // A machine answered: the lead is called again after `retry_voicemail_minutes`.
            let next = if outcome == ConversationOutcome::Voicemail {
                next_after_voicemail(&engine, &campaign, &attempt).await
            } else {
                next
            };
            // A machine qualifies nobody and refuses nothing: the lead stays undecided.
            let spoke = spoke && outcome != ConversationOutcome::Voicemail;
            if spoke && !playbook.is_qualified(&facts) && outcome != ConversationOutcome::Error {
                fill_missing_facts(&openai, &playbook, &history, &mut facts).await;
            }
            let refused = matches!(
                outcome,
                ConversationOutcome::NotInterested
                    | ConversationOutcome::DoNotCall
                    | ConversationOutcome::WrongNumber
                    | ConversationOutcome::Voicemail
            );
            let qualified = spoke.then(|| !refused && playbook.is_qualified(&facts));
            let recording_file = match recording {
                Some(done) => tokio::time::timeout(RECORDING_WAIT, done)
                    .await
                    .ok()
                    .and_then(Result::ok),
                None => None,
            };
            let summary = ConversationSummary {
                transcript,
                final_outcome: outcome.as_str().to_string(),
                lead_qualified: qualified,
                extracted_data: Value::Object(facts),
                free_callback,
                // Also written when the tool ran (`suppress_now`); this is the backup.
                opted_out,
                recording_file,
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

    /// This call as the dialer named it (the greeting prepared at dial time is filed so).
    fn call_ref(&self) -> CallRef {
        let a = &self.s.attempt;
        CallRef {
            campaign_id: a.campaign_id,
            lead_id: a.lead_id,
            scheduled_call_id: a.scheduled_call_id,
            attempt: a.attempt_number,
        }
    }

    /// The audio of a greeting clause synthesised while the phone rang, if this is one. Asked
    /// until the first clause that is not (the greeting is over), then the rest is dropped.
    fn prepared_greeting(&mut self, text: &str) -> Option<Vec<i16>> {
        if self.greeting_said {
            return None;
        }
        let greetings = &self.s.engine.greetings;
        let pcm = greetings.take_clause(&self.call_ref(), text);
        if pcm.is_none() {
            self.greeting_said = true;
            greetings.forget(&self.call_ref());
        }
        pcm.map(|p| p.to_vec())
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        // Caller audio arrives 5–50 times a second; room for a second of it.
        ctx.set_mailbox_capacity(64);
        let greeting = self
            .s
            .engine
            .greetings
            .on_start(&self.call_ref(), self.s.sample_rate);
        tracing::debug!(greeting = greeting.as_str(), "greeting audio at start");
        metrics::counter!(crate::telemetry_metrics::names::GREETING_AUDIO, "readiness" => greeting.as_str())
            .increment(1);
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
        // The children log inside the call's span, so every line carries its call_sid.
        let span = self.span.clone();
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

        if self.s.fallback.is_none() {
            // No pre-rendered lines: synthesise the apology now, while TTS works.
            let apology = render(&self.s.playbook.closing.apology, &self.vars);
            if let Some(tts) = &self.tts {
                tts.do_send(Prefetch {
                    key: "apology",
                    text: apology,
                });
            }
        }
        self.drive(Event::Start, ctx);
        self.mirror_session();

        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
        let limit =
            Duration::from_secs(u64::from(self.s.engine.settings.max_call_duration_minutes) * 60);
        ctx.run_later(limit, |act, ctx| {
            let _span = act.span.clone().entered();
            act.drive(Event::TimeUp, ctx)
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // A call stopped without its save (the system going down) leaves no session behind;
        // after a save this is a no-op.
        self.s.engine.session_mirror.ended(&self.s.call_sid);
        self.s.engine.registry.unregister(&self.s.call_sid);
        self.s.engine.greetings.forget(&self.call_ref());
    }
}

impl Handler<InboundAudio> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: InboundAudio, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let now = Instant::now();
        let event = self.detector.push_audio(&msg.0, now);
        self.machine_events(event, ctx);
        let vad = self.vad.push(&msg.0);
        if let Some(stt) = &self.stt {
            if stt.try_send(SttAudio(msg.0)).is_err() {
                self.dropped_audio += 1;
            }
        }
        match vad {
            Some(VadEvent::SpeechStarted { after_silence_ms }) => {
                let after_silence = Some(Duration::from_millis(after_silence_ms.into()));
                self.drive(Event::SpeechStarted { after_silence }, ctx)
            }
            Some(VadEvent::SpeechEnded) => {
                let at = now.checked_sub(VAD_HANGOVER).unwrap_or(now);
                for command in self.core.handle(Event::SpeechEnded, at) {
                    self.execute(command, ctx);
                }
            }
            // How long the caller has spoken is a rule of the core (a hold): check it now.
            None if self.vad.is_speaking() => self.drive(Event::Tick, ctx),
            None => {}
        }
    }
}

impl Handler<FromStt> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FromStt, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let now = Instant::now();
        let event = match msg.0 {
            SttEvent::Interim(text) => {
                let m = self.detector.push_transcript(&text, false, now);
                self.machine_events(m, ctx);
                Event::Interim(text)
            }
            SttEvent::Final {
                text,
                speech_final,
                from_finalize,
            } => {
                let m = self.detector.push_transcript(&text, true, now);
                self.machine_events(m, ctx);
                Event::Final {
                    text,
                    speech_final,
                    from_finalize,
                }
            }
            SttEvent::UtteranceEnd => Event::UtteranceEnd,
            _ => return,
        };
        self.drive(event, ctx);
    }
}

impl Handler<FromLlm> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FromLlm, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let event = match msg {
            FromLlm::Delta { generation, delta } => Event::LlmDelta { generation, delta },
            FromLlm::Done { generation } => Event::LlmDone { generation },
            FromLlm::Failed { generation, error } => {
                tracing::warn!(%error, "LLM failed");
                Event::LlmFailed { generation, error }
            }
        };
        self.drive(event, ctx);
    }
}

impl Handler<FromTts> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FromTts, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let event = match msg {
            FromTts::Audio { clause, pcm } => Event::TtsAudio { clause, pcm },
            FromTts::Done { clause } => Event::TtsDone { clause },
            FromTts::Failed { clause, error } => {
                tracing::warn!(clause, %error, "TTS failed");
                Event::TtsFailed { clause, error }
            }
            FromTts::Cached {
                key: "apology",
                pcm,
            } => {
                let samples = pcm.len();
                self.apology = Some(pcm.into());
                Event::ApologyCached { samples }
            }
            FromTts::Cached { .. } => return,
        };
        self.drive(event, ctx);
    }
}

impl Handler<ChildFailed> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: ChildFailed, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let child = match msg.child {
            Child::Stt => "stt",
            Child::Llm => "llm",
            Child::Tts => "tts",
        };
        metrics::counter!(crate::telemetry_metrics::names::RESTARTS, "child" => child).increment(1);
        tracing::warn!(child, error = %msg.error, "child failed; restarted");
        self.drive(
            Event::ChildFailed {
                child: msg.child,
                error: msg.error,
            },
            ctx,
        );
    }
}

impl Handler<MarkPlayed> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: MarkPlayed, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        let Some(clause) = msg.0.strip_prefix('c').and_then(|n| n.parse::<u64>().ok()) else {
            return;
        };
        self.drive(Event::MarkPlayed { clause }, ctx);
    }
}

impl Handler<FirstFrameOut> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: FirstFrameOut, _: &mut Context<Self>) {
        // Its own time, not the handler's: it waited in the mailbox.
        let _ = self
            .core
            .handle(Event::FirstFrameOut { turn: msg.turn }, msg.at);
    }
}

impl Handler<CallerDtmf> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: CallerDtmf, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        self.drive(Event::Dtmf(msg.0), ctx);
    }
}

impl Handler<TimeUp> for CallActor {
    type Result = ();
    fn handle(&mut self, _: TimeUp, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        self.drive(Event::TimeUp, ctx);
    }
}

impl Handler<SocketClosed> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: SocketClosed, ctx: &mut Context<Self>) {
        let _span = self.span.clone().entered();
        tracing::info!(reason = %msg.reason, "media stream ended");
        self.drive(Event::SocketClosed, ctx);
    }
}
