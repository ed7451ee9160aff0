//! `TtsActor`: speaks clauses in order, one ElevenLabs request at a time, streaming PCM to the
//! call as it arrives. Cancellable (barge-in drops the request and the queue). Each request is
//! bounded by the ElevenLabs deadlines (first byte, idle gap, total per clause), so a stall
//! mid-clause fails too. A failed clause is reported at once (`FromTts::Failed` with its
//! `ProviderError`, and `ChildFailed` for the call's restart budget); the queue is dropped and
//! the call decides what to re-send. It keeps no connection state, so it does not stop for a
//! restart.
//!
//! Lifecycle: it lives while the call holds its address; a request in flight is bounded by
//! the deadlines and stops early once the call is gone. Its `LiveActor` guard counts it in
//! `voice_actors{kind="tts"}`.

use std::collections::VecDeque;

use actix::prelude::*;
use futures::StreamExt;
use tracing::Instrument;

use super::messages::{CancelSpeech, Child, ChildFailed, FromTts, Prefetch, Speak};
use crate::providers::elevenlabs::{ElevenLabsClient, PcmItem};
use crate::providers::error::ProviderError;
use crate::telemetry_metrics::{ActorKind, LiveActor};

pub struct TtsActor {
    client: ElevenLabsClient,
    voice_id: Option<String>,
    sample_rate: u32,
    language: String,
    call: Recipient<FromTts>,
    failures: Recipient<ChildFailed>,
    queue: VecDeque<Speak>,
    current: Option<SpawnHandle>,
    /// The call's span: every log line of this child carries the call's `call_sid`.
    span: tracing::Span,
    _live: LiveActor,
}

/// How a clause's request ended.
enum Spoken {
    Done,
    /// The call is gone; nothing to report.
    CallGone,
    Failed(ProviderError),
}

impl TtsActor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: ElevenLabsClient,
        voice_id: Option<String>,
        sample_rate: u32,
        language: String,
        call: Recipient<FromTts>,
        failures: Recipient<ChildFailed>,
        span: tracing::Span,
    ) -> TtsActor {
        TtsActor {
            client,
            voice_id,
            sample_rate,
            language,
            call,
            failures,
            queue: VecDeque::new(),
            current: None,
            span,
            _live: LiveActor::new(ActorKind::Tts),
        }
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.current.is_some() {
            return;
        }
        let Some(next) = self.queue.pop_front() else {
            return;
        };
        let request = synthesise(
            self.client.clone(),
            self.voice_id.clone(),
            self.sample_rate,
            self.language.clone(),
            next.text,
        );
        let (call, clause) = (self.call.clone(), next.clause);
        let fut = async move {
            let mut stream = match request.await {
                Ok(s) => s,
                Err(e) => return Spoken::Failed(e),
            };
            loop {
                match stream.next().await {
                    Some(Ok(pcm)) if pcm.is_empty() => {}
                    Some(Ok(_)) if !call.connected() => return Spoken::CallGone,
                    Some(Ok(pcm)) => call.do_send(FromTts::Audio { clause, pcm }),
                    Some(Err(e)) => return Spoken::Failed(e),
                    None => return Spoken::Done,
                }
            }
        }
        .instrument(self.span.clone());
        self.current = Some(ctx.spawn(fut.into_actor(self).map(move |spoken, act, ctx| {
            act.current = None;
            match spoken {
                Spoken::Done => {
                    act.call.do_send(FromTts::Done { clause });
                    act.pump(ctx);
                }
                Spoken::CallGone => act.queue.clear(),
                Spoken::Failed(error) => {
                    let _entered = act.span.enter();
                    tracing::warn!(clause, kind = ?error.kind, %error, "TTS clause failed");
                    act.queue.clear();
                    act.call.do_send(FromTts::Failed {
                        clause,
                        error: error.clone(),
                    });
                    act.failures.do_send(ChildFailed {
                        child: Child::Tts,
                        error,
                    });
                }
            }
        })));
    }
}

type PcmStream = std::pin::Pin<Box<dyn futures::Stream<Item = PcmItem> + Send>>;

async fn synthesise(
    client: ElevenLabsClient,
    voice: Option<String>,
    rate: u32,
    language: String,
    text: String,
) -> Result<PcmStream, ProviderError> {
    let stream = client
        .speak(&text, voice.as_deref(), rate, &language)
        .await?;
    Ok(Box::pin(stream))
}

impl Actor for TtsActor {
    type Context = Context<Self>;
}

impl Supervised for TtsActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.current = None;
        self.queue.clear();
    }
}

impl Handler<Speak> for TtsActor {
    type Result = ();
    fn handle(&mut self, msg: Speak, ctx: &mut Context<Self>) {
        self.queue.push_back(msg);
        self.pump(ctx);
    }
}

impl Handler<CancelSpeech> for TtsActor {
    type Result = ();
    fn handle(&mut self, _: CancelSpeech, ctx: &mut Context<Self>) {
        self.queue.clear();
        if let Some(handle) = self.current.take() {
            ctx.cancel_future(handle);
        }
    }
}

impl Handler<Prefetch> for TtsActor {
    type Result = ();
    fn handle(&mut self, msg: Prefetch, ctx: &mut Context<Self>) {
        let request = synthesise(
            self.client.clone(),
            self.voice_id.clone(),
            self.sample_rate,
            self.language.clone(),
            msg.text,
        );
        let (call, key) = (self.call.clone(), msg.key);
        ctx.spawn(
            async move {
                let mut stream = match request.await {
                    Ok(s) => s,
                    Err(error) => {
                        tracing::warn!(key, %error, "prefetch failed");
                        return;
                    }
                };
                let mut pcm = Vec::new();
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(samples) => pcm.extend(samples),
                        Err(error) => {
                            // Half a phrase is worse than none: the call falls back.
                            tracing::warn!(key, %error, "prefetch failed");
                            return;
                        }
                    }
                }
                if !pcm.is_empty() && call.connected() {
                    call.do_send(FromTts::Cached { key, pcm });
                }
            }
            .instrument(self.span.clone())
            .into_actor(self),
        );
    }
}
