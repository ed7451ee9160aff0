//! `SttActor`: the call's Deepgram stream. Caller audio in, transcripts out to the call.
//! When the socket drops it reports `ChildFailed` and stops; its `Supervisor` restarts it (same
//! struct), and it reconnects after a backoff. Audio that arrives in the gap is buffered (up
//! to 10 s) and sent first on reconnection, so nothing the caller said is lost.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::mpsc;

use super::messages::{Child, ChildFailed, FromStt, SttAudio, SttClose};
use crate::config::ProviderSettings;
use crate::media::audio::pcm_to_bytes;
use crate::providers::deepgram::{self, Outgoing, SttEvent};
use crate::providers::error::{Provider, ProviderError};

pub struct SttActor {
    settings: ProviderSettings,
    sample_rate: u32,
    language: String,
    call: Recipient<FromStt>,
    failures: Recipient<ChildFailed>,
    /// The live connection's audio sender; `None` while (re)connecting.
    connection: Option<mpsc::Sender<Outgoing>>,
    /// Audio held while disconnected, oldest first.
    backlog: VecDeque<Vec<u8>>,
    backlog_bytes: usize,
    /// Consecutive failed connections, for the backoff.
    failures_in_a_row: u32,
    last_sent: Instant,
    closing: bool,
    /// Audio chunks dropped because Deepgram could not keep up.
    pub dropped: u64,
}

impl SttActor {
    pub fn new(
        settings: ProviderSettings,
        sample_rate: u32,
        language: String,
        call: Recipient<FromStt>,
        failures: Recipient<ChildFailed>,
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
            closing: false,
            dropped: 0,
        }
    }

    fn max_backlog(&self) -> usize {
        self.sample_rate as usize * 2 * 10
    }

    fn hold(&mut self, bytes: Vec<u8>) {
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
        let (settings, rate, language) = (
            self.settings.clone(),
            self.sample_rate,
            self.language.clone(),
        );
        let call = self.call.clone();
        let me = ctx.address();
        let fut = async move {
            let mut connection = deepgram::connect(&settings, rate, &language).await?;
            let sender = connection.outgoing.clone();
            tokio::spawn(async move {
                while let Some(event) = connection.events.recv().await {
                    if let SttEvent::Closed(reason) = event {
                        me.do_send(Disconnected(reason));
                        return;
                    }
                    call.do_send(FromStt(event));
                }
            });
            Ok::<_, String>(sender)
        };
        ctx.wait(fut.into_actor(self).map(|result, act, ctx| match result {
            Ok(sender) => {
                act.failures_in_a_row = 0;
                while let Some(bytes) = act.backlog.pop_front() {
                    let _ = sender.try_send(Outgoing::Audio(bytes));
                }
                act.backlog_bytes = 0;
                act.connection = Some(sender);
            }
            Err(reason) => act.fail(reason, ctx),
        }));
    }

    fn fail(&mut self, reason: String, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        self.failures_in_a_row += 1;
        self.failures.do_send(ChildFailed {
            child: Child::Stt,
            error: ProviderError::transient(Provider::Deepgram, reason),
        });
        // Stopping hands us to the Supervisor, which restarts this same struct.
        ctx.stop();
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
        if self.closing {
            // The call is over; a restart must not open a new stream.
            return;
        }
        let backoff = Duration::from_millis(200 * 2u64.pow(self.failures_in_a_row.min(5)));
        if self.failures_in_a_row == 0 {
            self.connect(ctx);
        } else {
            ctx.run_later(backoff, |act, ctx| act.connect(ctx));
        }
        // Deepgram closes a stream that hears nothing for 10 s; caller audio normally flows,
        // this covers pauses in it.
        ctx.run_interval(Duration::from_secs(4), |act, _| {
            if act.last_sent.elapsed() >= Duration::from_secs(3) {
                if let Some(c) = &act.connection {
                    let _ = c.try_send(Outgoing::KeepAlive);
                }
            }
        });
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
        let bytes = pcm_to_bytes(&msg.0);
        match &self.connection {
            Some(c) => match c.try_send(Outgoing::Audio(bytes)) {
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
        if !self.closing {
            self.fail(msg.0, ctx);
        }
    }
}

impl Handler<SttClose> for SttActor {
    type Result = ();
    /// Ends the stream gracefully. The actor itself then stays idle and stops by itself when
    /// the call drops its address: stopping here would make the supervisor restart it (its
    /// reader task still holds an address) and open a new stream for a call that is over.
    fn handle(&mut self, _: SttClose, _: &mut Context<Self>) {
        self.closing = true;
        self.backlog.clear();
        if let Some(c) = self.connection.take() {
            let _ = c.try_send(Outgoing::Close);
        }
    }
}
