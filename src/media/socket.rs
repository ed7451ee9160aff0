//! `MediaSocket`: the Exotel media WebSocket (`GET /media`), one per answered call — the call's
//! edge. It decodes inbound frames and hands caller audio to the `CallActor` (`try_send`:
//! dropped and counted under pressure), and plays the call's audio out in chunks of
//! `EXOTEL_OUTBOUND_CHUNK_MS` paced in real time with a small lead (`playout::Playout`); a
//! `clear` silences the agent at once whatever the chunk size, since it drops Exotel's queue.
//! Malformed frames, bad base64, odd byte counts, events before `start` and a second `start`
//! are logged, counted and ignored: the call goes on.

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web_actors::ws;

use super::audio::{pcm_from_base64, pcm_to_base64};
use super::playout::{Outgoing, Playout};
use super::protocol::{self, Inbound, StartInfo};
use super::recording::{CallRecorder, RecordingDone};
use crate::api::exotel_auth::Authorised;
use crate::api::AppState;
use crate::call::call_actor::CallSetup;
use crate::call::messages::{
    CallerDtmf, FirstFrameOut, InboundAudio, MarkPlayed, SocketClosed, SocketCommand,
};
use crate::call::CallActor;
use crate::telephony::call_outcome::adopt_unrecorded;
use crate::telephony::exotel::CallRef;

/// The largest frame we read. Exotel's media frames are a few KiB (100 ms of 16-bit audio in
/// base64); anything far larger is not Exotel, and reading it would only cost memory.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// How long a socket may stay open without a `start` event. Pings are answered, but they do
/// not make a socket a call: without this, anyone with a token could hold sockets for ever.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// Counters of what was refused or dropped on this socket.
#[derive(Debug, Default, Clone, Copy)]
pub struct SocketCounters {
    pub malformed: u64,
    pub bad_audio: u64,
    pub out_of_order: u64,
    pub dropped_inbound: u64,
}

pub struct MediaSocket {
    state: AppState,
    sample_rate: u32,
    /// The call's ids from our own URL (`ref=`), when Exotel opened the URL we gave it.
    url_ref: Option<CallRef>,
    stream_sid: Option<String>,
    frames: Option<protocol::MediaFrameWriter>,
    call: Option<Addr<CallActor>>,
    /// The call's recording (`RECORDINGS_DIR`): caller frames as they arrive, agent frames as
    /// they are sent.
    recorder: Option<CallRecorder>,
    /// The agent's audio and marks waiting to go out, and their pacing.
    playout: Playout,
    last_turn_reported: u64,
    hanging_up: Option<Instant>,
    /// A hold: the caller may be barging in; no agent frames go out, the queue is kept.
    paused: bool,
    /// The playout timer, once a chunk; runs only while there is audio to send (hundreds of
    /// idle calls would otherwise wake 10–50 times a second each for nothing).
    pump_timer: Option<SpawnHandle>,
    /// When the playout queue emptied after a hang-up.
    drained_at: Option<Instant>,
    last_heard: Instant,
    pub counters: SocketCounters,
    /// Which calls this socket's credentials open (a per-call token opens one).
    authorised: Authorised,
    /// This socket's place under the node's socket cap, given back when the actor is dropped.
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Counts this socket in `voice_actors{kind="socket"}` until it is dropped.
    _live: crate::telemetry_metrics::LiveActor,
}

impl MediaSocket {
    pub fn new(state: AppState, sample_rate: u32, url_ref: Option<CallRef>) -> MediaSocket {
        MediaSocket {
            playout: Playout::new(sample_rate, state.settings.exotel.outbound_chunk_ms),
            state,
            sample_rate,
            url_ref,
            stream_sid: None,
            frames: None,
            call: None,
            recorder: None,
            last_turn_reported: 0,
            hanging_up: None,
            paused: false,
            pump_timer: None,
            drained_at: None,
            last_heard: Instant::now(),
            counters: SocketCounters::default(),
            authorised: Authorised::AnyCall,
            _slot: None,
            _live: crate::telemetry_metrics::LiveActor::new(
                crate::telemetry_metrics::ActorKind::Socket,
            ),
        }
    }

    /// Limits the socket to the calls its credentials open.
    pub fn authorised(mut self, authorised: Authorised) -> MediaSocket {
        self.authorised = authorised;
        self
    }

    /// Holds a place under the node's socket cap for the socket's life.
    pub fn holding(mut self, slot: tokio::sync::OwnedSemaphorePermit) -> MediaSocket {
        self._slot = Some(slot);
        self
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        let event = match protocol::parse(text) {
            Ok(e) => e,
            Err(e) => {
                self.counters.malformed += 1;
                tracing::debug!(error = %e, "malformed media frame ignored");
                return;
            }
        };
        match event {
            Inbound::Connected | Inbound::Other(_) => {}
            Inbound::Start(start) if self.stream_sid.is_none() => self.on_start(start, ctx),
            Inbound::Start(_) => self.counters.out_of_order += 1,
            _ if self.call.is_none() => self.counters.out_of_order += 1,
            Inbound::Media { payload } => match pcm_from_base64(&payload) {
                Ok(pcm) => {
                    if let Some(recorder) = &mut self.recorder {
                        recorder.caller(&pcm);
                    }
                    if let Some(call) = &self.call {
                        if call.try_send(InboundAudio(pcm)).is_err() {
                            self.counters.dropped_inbound += 1;
                        }
                    }
                }
                Err(_) => self.counters.bad_audio += 1,
            },
            Inbound::Dtmf { digit } => self.tell(CallerDtmf(digit)),
            Inbound::Mark { name } if name == "hangup" => {
                ctx.close(Some(ws::CloseCode::Normal.into()))
            }
            Inbound::Mark { name } => self.tell(MarkPlayed(name)),
            Inbound::Stop { reason } => {
                self.tell(SocketClosed {
                    reason: reason.unwrap_or_else(|| "stop".into()),
                });
                ctx.stop();
            }
        }
    }

    fn tell<M>(&self, msg: M)
    where
        M: Message<Result = ()> + Send + 'static,
        CallActor: Handler<M>,
    {
        if let Some(call) = &self.call {
            call.do_send(msg);
        }
    }

    /// Finds the call this stream belongs to and starts its `CallActor`. Frames arriving
    /// meanwhile wait (`ctx.wait`), so none is lost.
    fn on_start(&mut self, start: StartInfo, ctx: &mut ws::WebsocketContext<Self>) {
        self.stream_sid = Some(start.stream_sid.clone());
        self.frames = Some(protocol::MediaFrameWriter::new(&start.stream_sid));
        if let Some(rate) = start
            .sample_rate
            .filter(|r| [8000, 16000, 24000].contains(r))
        {
            self.sample_rate = rate;
        }
        self.playout = Playout::new(
            self.sample_rate,
            self.state.settings.exotel.outbound_chunk_ms,
        );
        let call_ref = self.url_ref.or_else(|| {
            start
                .custom_parameters
                .get("ref")
                .and_then(|v| v.as_str())
                .and_then(CallRef::decode)
        });
        let state = self.state.clone();
        let lookup = find_call(state, start.call_sid.clone(), call_ref, self.authorised);
        ctx.wait(lookup.into_actor(self).map(move |found, act, ctx| match found {
            Ok(found) => {
                let me = ctx.address().recipient();
                let recording = act.start_recording(&start.call_sid);
                let setup = CallSetup {
                    call_sid: start.call_sid.clone(),
                    stream_sid: start.stream_sid.clone(),
                    attempt: found.0,
                    lead: found.1,
                    campaign: found.2,
                    fallback: act.state.engine.fallback_audio.lines_for(&found.3, act.sample_rate),
                    playbook: found.3,
                    sample_rate: act.sample_rate,
                    socket: me,
                    engine: act.state.engine.clone(),
                    providers: act.state.providers.for_call(),
                    campaigns: act.state.campaigns.clone(),
                    recording,
                };
                act.call = Some(CallActor::new(setup).start());
                tracing::info!(call_sid = %start.call_sid, rate = act.sample_rate, "media stream started");
            }
            Err(why) => {
                tracing::warn!(call_sid = %start.call_sid, %why, "media stream for an unknown call; closing");
                ctx.close(Some(ws::CloseReason { code: ws::CloseCode::Policy, description: Some(why) }));
                ctx.stop();
            }
        }));
    }

    /// Starts recording the call when the node records (`RECORDINGS_DIR`); what its save
    /// waits for.
    fn start_recording(&mut self, call_sid: &str) -> Option<RecordingDone> {
        let dir = self.state.settings.recordings_dir.as_deref()?;
        let state = &self.state;
        let (recorder, done) = CallRecorder::start(
            dir,
            call_sid,
            self.sample_rate,
            state.store.clone(),
            state.clock.clone(),
        )?;
        self.recorder = Some(recorder);
        Some(done)
    }

    /// Sends what is due: chunks up to real time plus the lead, and marks as they come up.
    fn pump(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let Some(stream_sid) = self.stream_sid.clone() else {
            return;
        };
        if self.paused {
            // Held: nothing goes out; the real-time clock starts afresh on resume.
            self.playout.restart_clock();
            return;
        }
        let now = Instant::now();
        for item in self.playout.due(now) {
            match item {
                Outgoing::Mark(name) => ctx.text(protocol::mark_frame(&stream_sid, &name)),
                Outgoing::Audio { turn, pcm } => {
                    if let Some(recorder) = &mut self.recorder {
                        recorder.agent(&pcm);
                    }
                    let frame = match self.frames.as_mut() {
                        Some(writer) => writer.frame(&pcm),
                        None => protocol::media_frame(&stream_sid, &pcm_to_base64(&pcm)),
                    };
                    ctx.text(frame);
                    if turn != self.last_turn_reported && turn != u64::MAX {
                        self.last_turn_reported = turn;
                        if let Some(call) = &self.call {
                            call.do_send(FirstFrameOut { turn, at: now });
                        }
                    }
                }
            }
        }
        if self.playout.idle(now) && self.hanging_up.is_none() {
            if let Some(timer) = self.pump_timer.take() {
                ctx.cancel_future(timer);
            }
        }
        if self.hanging_up.is_some() && self.playout.is_drained() {
            // Exotel echoes the hang-up mark when the goodbye has played; if it does not
            // within a few seconds of the last chunk, close anyway.
            let drained = *self.hanging_up.get_or_insert_with(Instant::now);
            if self.drained_at.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(3)
                || drained.elapsed() > Duration::from_secs(60)
            {
                ctx.close(Some(ws::CloseCode::Normal.into()));
                ctx.stop();
            }
        }
    }
}

type Found = (
    crate::store::AttemptRow,
    crate::store::Lead,
    crate::store::Campaign,
    crate::conversation::playbook::Playbook,
);

/// The attempt, lead, campaign and playbook of a call, by our ids or by Exotel's call sid
/// (waiting a moment: the socket can arrive before our record of the dial commits).
///
/// The socket's credentials are checked against the attempt before anything is written
/// (adopting an unrecorded dial, claiming the media): a leaked per-call URL announcing another
/// call's sid must not claim that call's media and leave the real socket refused.
async fn find_call(
    state: AppState,
    call_sid: String,
    call_ref: Option<CallRef>,
    authorised: Authorised,
) -> Result<Found, String> {
    const NOT_YOURS: &str = "this socket's token is for another call";
    let store = &state.store;
    let mut attempt = None;
    for _ in 0..40 {
        attempt = store
            .attempt_by_call_sid(&call_sid)
            .await
            .map_err(|e| e.to_string())?;
        if attempt.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attempt = match (attempt, call_ref) {
        (Some(a), _) if !authorised.opens(&a) => return Err(NOT_YOURS.into()),
        (Some(a), _) => a,
        (None, Some(r)) => {
            let row = store
                .attempt(r.scheduled_call_id)
                .await
                .map_err(|e| e.to_string())?;
            if row.as_ref().is_some_and(|a| !authorised.opens(a)) {
                return Err(NOT_YOURS.into());
            }
            let recorded = row.filter(|a| a.current_call_sid.as_deref() == Some(call_sid.as_str()));
            let found = match recorded {
                Some(a) => Some(a),
                // Our record of the dial is missing (in doubt): the answered call settles it.
                None => adopt_unrecorded(&state.engine, r.scheduled_call_id, &call_sid)
                    .await
                    .map_err(|e| e.to_string())?,
            };
            found
                .ok_or_else(|| format!("no attempt {} for call {call_sid}", r.scheduled_call_id))?
        }
        (None, None) => return Err(format!("no call {call_sid}")),
    };
    let lead = store
        .lead(attempt.lead_id)
        .await
        .map_err(|e| e.to_string())?;
    let campaign = store
        .campaign(attempt.campaign_id)
        .await
        .map_err(|e| e.to_string())?;
    let playbook = state
        .playbooks
        .load(&campaign.playbook)
        .map_err(|e| e.to_string())?;
    // One conversation per call: a replayed or second socket for a call that is live or has
    // ended is refused here and starts nothing.
    let claimed = store
        .claim_media(&call_sid, &state.settings.node_id, state.clock.now())
        .await
        .map_err(|e| e.to_string())?;
    if !claimed {
        return Err(format!(
            "call {call_sid} already has or had a media session"
        ));
    }
    Ok((attempt, lead, campaign, playbook))
}

impl Actor for MediaSocket {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_later(START_DEADLINE, |act, ctx| {
            if act.stream_sid.is_none() {
                let why = "no start event within 10 s".to_string();
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some(why),
                }));
                ctx.stop();
            }
        });
        // A socket that hears nothing for 30 s is dead (Exotel streams audio continuously).
        ctx.run_interval(Duration::from_secs(5), |act, ctx| {
            if act.last_heard.elapsed() > Duration::from_secs(30) {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Finalised off this thread; the call's save waits (briefly) for its name.
        if let Some(recorder) = self.recorder.take() {
            recorder.finish();
        }
        self.tell(SocketClosed {
            reason: "socket closed".into(),
        });
        use crate::telemetry_metrics::names::AUDIO_DROPPED;
        let c = self.counters;
        metrics::counter!(AUDIO_DROPPED, "where" => "socket_inbound").increment(c.dropped_inbound);
        metrics::counter!(AUDIO_DROPPED, "where" => "malformed_frames")
            .increment(c.malformed + c.bad_audio);
        if self.counters.malformed
            + self.counters.bad_audio
            + self.counters.out_of_order
            + self.counters.dropped_inbound
            > 0
        {
            tracing::info!(counters = ?self.counters, "media socket closed with refused frames");
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for MediaSocket {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match msg {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(ws::Message::Binary(_)) => self.counters.malformed += 1,
            Ok(_) => {}
            Err(ws::ProtocolError::Overflow) => {
                tracing::warn!(limit = MAX_FRAME_BYTES, "media frame too large; closing");
                ctx.close(Some(ws::CloseCode::Size.into()));
                ctx.stop();
            }
            Err(e) => {
                tracing::debug!(error = %e, "media socket protocol error");
                ctx.stop();
            }
        }
    }
}

impl Handler<SocketCommand> for MediaSocket {
    type Result = ();
    fn handle(&mut self, msg: SocketCommand, ctx: &mut Self::Context) {
        match msg {
            SocketCommand::Play { turn, pcm } => self.playout.push_audio(turn, &pcm),
            SocketCommand::Mark(name) => self.playout.push_mark(name),
            SocketCommand::Pause => self.paused = true,
            SocketCommand::Resume => self.paused = false,
            SocketCommand::Clear => {
                self.paused = false;
                self.playout.clear();
                if let Some(recorder) = &mut self.recorder {
                    recorder.clear_agent();
                }
                if let Some(sid) = &self.stream_sid {
                    ctx.text(protocol::clear_frame(sid));
                }
            }
            SocketCommand::HangUp => {
                // The goodbye is not held.
                self.paused = false;
                self.playout.push_mark("hangup".into());
                self.hanging_up = Some(Instant::now());
            }
        }
        if self.pump_timer.is_none() {
            let every = self.playout.tick();
            self.pump_timer = Some(ctx.run_interval(every, |act, ctx| act.pump(ctx)));
        }
        self.pump(ctx);
    }
}
