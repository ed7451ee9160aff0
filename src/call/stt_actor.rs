//! `SttActor`: the call's Deepgram stream. Caller audio in, transcripts out to the call.
//!
//! Failures: when the socket drops, its connect fails, or Deepgram stops answering while it is
//! sent audio (the results watchdog, `DEEPGRAM_RESULTS_TIMEOUT_MS`), it reports `ChildFailed`
//! with the `ProviderError` and stops; its `Supervisor` restarts it (same struct), and it
//! reconnects after a backoff. Audio that arrives in the gap is buffered (up to 10 s) and sent
//! first on reconnection, so nothing the caller said is lost.
//!
//! Lifecycle — it stops for good when the call ends, and never reconnects after that:
//! - `SttClose` (or, checked every second, the call's mailbox gone) sets `closed`, says
//!   `CloseStream`, drops the connection (the socket closes; see `deepgram::connect`) and stops.
//!   `closed` lives in the struct, so it survives a supervisor restart: a restarted actor
//!   with `closed` set opens nothing and runs no timer.
//! - A reconnect already scheduled, or a connect already in flight, checks `closed` when it
//!   runs or lands, and closes what it opened.
//! - Nothing but the call holds a strong address (the reader task holds a weak one), so when
//!   the call drops its address the mailbox disconnects: actix stops an actor with no senders
//!   and no pending timers, and `Supervisor` restarts only an actor whose mailbox is still
//!   connected. The struct — and its `LiveActor` guard, `voice_actors{kind="stt"}` — is dropped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::messages::{Child, ChildFailed, FromStt, SttAudio, SttClose, SttFinalize};
use crate::config::ProviderSettings;
use crate::media::audio::pcm_into_bytes;
use crate::providers::deepgram::{self, Outgoing, SttEvent};
use crate::providers::error::{Provider, ProviderError};
use crate::telemetry_metrics::{ActorKind, LiveActor};

/// Deepgram closes a stream that hears nothing for 10 s; a KeepAlive after this much quiet.
const KEEPALIVE_AFTER: Duration = Duration::from_secs(3);
/// Audio is "being sent" if some went out this recently (the watchdog's condition).
const SENDING_WITHIN: Duration = Duration::from_secs(1);

/// The live connection's handles.
struct Live {
    sender: mpsc::Sender<Outgoing>,
    last_frame: std::sync::Arc<std::sync::Mutex<Instant>>,
    since: Instant,
}

pub struct SttActor {
    settings: ProviderSettings,
    sample_rate: u32,
    language: String,
    call: Recipient<FromStt>,
    failures: Recipient<ChildFailed>,
    /// The live connection; `None` while (re)connecting.
    connection: Option<Live>,
    /// Audio held while disconnected, oldest first.
    backlog: VecDeque<Bytes>,
    backlog_bytes: usize,
    /// Consecutive failed connections, for the backoff.
    failures_in_a_row: u32,
    last_sent: Instant,
    last_keepalive: Instant,
    /// The call is over: never connect again (survives restarts).
    closed: bool,
    /// Audio chunks dropped because Deepgram could not keep up.
    pub dropped: u64,
    /// The call's span: every log line of this child carries the call's `call_sid`.
    span: tracing::Span,
    _live: LiveActor,
}

impl SttActor {
    pub fn new(
        settings: ProviderSettings,
        sample_rate: u32,
        language: String,
        call: Recipient<FromStt>,
        failures: Recipient<ChildFailed>,
        span: tracing::Span,
    ) -> SttActor {
        SttActor {
            settings,
            sample_rate,
            language,
            call,
            failures,
            connection: None,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            failures_in_a_row: 0,
            last_sent: Instant::now(),
            last_keepalive: Instant::now(),
            closed: false,
            dropped: 0,
            span,
            _live: LiveActor::new(ActorKind::Stt),
        }
    }

    fn max_backlog(&self) -> usize {
        self.sample_rate as usize * 2 * 10
    }

    fn hold(&mut self, bytes: Bytes) {
        self.backlog_bytes += bytes.len();
        self.backlog.push_back(bytes);
        while self.backlog_bytes > self.max_backlog() {
            if let Some(old) = self.backlog.pop_front() {
                self.backlog_bytes -= old.len();
                self.dropped += 1;
            }
        }
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        let (settings, rate, language) = (
            self.settings.clone(),
            self.sample_rate,
            self.language.clone(),
        );
        let call = self.call.clone();
        // Weak: the reader must not keep this actor (or its supervisor) alive.
        let me = ctx.address().downgrade();
        let span = self.span.clone();
        let fut = async move {
            let mut connection = deepgram::connect(&settings, rate, &language).await?;
            let live = Live {
                sender: connection.outgoing.clone(),
                last_frame: connection.last_frame.clone(),
                since: Instant::now(),
            };
            tokio::spawn(
                async move {
                    while let Some(event) = connection.events.recv().await {
                        if let SttEvent::Closed(reason) = event {
                            if let Some(me) = me.upgrade() {
                                me.do_send(Disconnected(reason));
                            }
                            return;
                        }
                        if !call.connected() {
                            return;
                        }
                        call.do_send(FromStt(event));
                    }
                }
                .instrument(span),
            );
            Ok::<_, ProviderError>(live)
        }
        .instrument(self.span.clone());
        ctx.wait(fut.into_actor(self).map(|result, act, ctx| match result {
            Ok(live) if act.closed => {
                // The call ended while we were connecting.
                let _ = live.sender.try_send(Outgoing::Close);
            }
            Ok(live) => {
                act.failures_in_a_row = 0;
                while let Some(bytes) = act.backlog.pop_front() {
                    let _ = live.sender.try_send(Outgoing::Audio(bytes));
                }
                act.backlog_bytes = 0;
                act.connection = Some(live);
            }
            Err(error) => act.fail(error, ctx),
        }));
    }

    fn fail(&mut self, error: ProviderError, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        let _entered = self.span.clone().entered();
        tracing::warn!(kind = ?error.kind, %error, "STT stream failed; restarting");
        self.failures_in_a_row += 1;
        self.connection = None;
        self.failures.do_send(ChildFailed {
            child: Child::Stt,
            error,
        });
        // Stopping hands us to the Supervisor, which restarts this same struct.
        ctx.stop();
    }

    /// The call is over: close the stream and stop for good.
    fn close(&mut self, ctx: &mut Context<Self>) {
        self.closed = true;
        self.backlog.clear();
        self.backlog_bytes = 0;
        if let Some(live) = self.connection.take() {
            // Dropping the sender after this ends the writer, which closes the socket.
            let _ = live.sender.try_send(Outgoing::Close);
        }
        ctx.stop();
    }

    /// Every second: the call still there? KeepAlive in a pause; the results watchdog.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if !self.call.connected() {
            self.close(ctx);
            return;
        }
        let Some(live) = &self.connection else {
            return;
        };
        if self.last_sent.elapsed() >= KEEPALIVE_AFTER
            && self.last_keepalive.elapsed() >= KEEPALIVE_AFTER
        {
            let _ = live.sender.try_send(Outgoing::KeepAlive);
            self.last_keepalive = Instant::now();
        }
        let limit = self.settings.deadlines.idle;
        let heard = *live.last_frame.lock().unwrap_or_else(|p| p.into_inner());
        let silent_for = heard.max(live.since).elapsed();
        if self.last_sent.elapsed() < SENDING_WITHIN && silent_for > limit {
            let error = ProviderError::timeout(
                Provider::Deepgram,
                format!("no results for {silent_for:?} while sending audio"),
            );
            self.fail(error, ctx);
        }
    }
}

/// The Deepgram socket ended.
#[derive(Message)]
#[rtype(result = "()")]
struct Disconnected(String);

impl Actor for SttActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(256);
        if self.closed {
            // The call is over; a restart opens nothing and runs no timer, so the actor stops
            // as soon as the call drops its address.
            return;
        }
        let backoff = Duration::from_millis(200 * 2u64.pow(self.failures_in_a_row.min(5)));
        if self.failures_in_a_row == 0 {
            self.connect(ctx);
        } else {
            ctx.run_later(backoff, |act, ctx| act.connect(ctx));
        }
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.tick(ctx));
    }
}

impl Supervised for SttActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.connection = None;
    }
}

impl Handler<SttAudio> for SttActor {
    type Result = ();
    fn handle(&mut self, msg: SttAudio, _: &mut Context<Self>) {
        if self.closed {
            return;
        }
        let bytes = pcm_into_bytes(msg.0);
        match &self.connection {
            Some(c) => match c.sender.try_send(Outgoing::Audio(bytes)) {
                Ok(()) => self.last_sent = Instant::now(),
                Err(mpsc::error::TrySendError::Full(_)) => self.dropped += 1,
                Err(mpsc::error::TrySendError::Closed(Outgoing::Audio(bytes))) => {
                    self.connection = None;
                    self.hold(bytes);
                }
                Err(_) => {}
            },
            None => self.hold(bytes),
        }
    }
}

impl Handler<Disconnected> for SttActor {
    type Result = ();
    fn handle(&mut self, msg: Disconnected, ctx: &mut Context<Self>) {
        self.connection = None;
        if !self.closed {
            self.fail(ProviderError::transient(Provider::Deepgram, msg.0), ctx);
        }
    }
}

impl Handler<SttFinalize> for SttActor {
    type Result = ();
    fn handle(&mut self, _: SttFinalize, _: &mut Context<Self>) {
        if let Some(c) = &self.connection {
            let _ = c.sender.try_send(Outgoing::Finalize);
        }
    }
}

impl Handler<SttClose> for SttActor {
    type Result = ();
    fn handle(&mut self, _: SttClose, ctx: &mut Context<Self>) {
        self.close(ctx);
    }
}
