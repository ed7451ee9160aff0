//! `TtsActor`: speaks clauses in order, one ElevenLabs request at a time, streaming PCM to the
//! call as it arrives. Cancellable (barge-in drops the request and the queue). A request with
//! no first byte within the timeout, or a failed one, is reported and the actor stops for its
//! supervisor to restart it; the call re-sends what was not spoken.

use std::collections::VecDeque;
use std::time::Duration;

use actix::prelude::*;

use crate::providers::error::{Provider, ProviderError};
use futures::StreamExt;

use super::messages::{CancelSpeech, Child, ChildFailed, FromTts, Prefetch, Speak};
use crate::providers::elevenlabs::ElevenLabsClient;

/// How long a clause may wait for its first audio byte.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(3);

pub struct TtsActor {
    client: ElevenLabsClient,
    voice_id: Option<String>,
    sample_rate: u32,
    language: String,
    call: Recipient<FromTts>,
    failures: Recipient<ChildFailed>,
    queue: VecDeque<Speak>,
    current: Option<SpawnHandle>,
}

impl TtsActor {
    pub fn new(
        client: ElevenLabsClient,
        voice_id: Option<String>,
        sample_rate: u32,
        language: String,
        call: Recipient<FromTts>,
        failures: Recipient<ChildFailed>,
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
        }
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.current.is_some() {
            return;
        }
        let Some(next) = self.queue.pop_front() else {
            return;
        };
        let fut = synthesise(
            self.client.clone(),
            self.voice_id.clone(),
            self.sample_rate,
            self.language.clone(),
            next.text,
        );
        let (call, clause) = (self.call.clone(), next.clause);
        let fut = async move {
            let mut stream = match fut.await {
                Ok(s) => s,
                Err(e) => return Err(e),
            };
            let mut first = true;
            loop {
                let next = if first {
                    tokio::time::timeout(FIRST_BYTE_TIMEOUT, stream.next())
                        .await
                        .map_err(|_| format!("no audio within {FIRST_BYTE_TIMEOUT:?}"))?
                } else {
                    stream.next().await
                };
                match next {
                    Some(Ok(pcm)) if pcm.is_empty() => {}
                    Some(Ok(pcm)) => {
                        first = false;
                        call.do_send(FromTts::Audio { clause, pcm });
                    }
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                }
            }
        };
        self.current = Some(ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            act.current = None;
            match result {
                Ok(()) => {
                    act.call.do_send(FromTts::Done { clause });
                    act.pump(ctx);
                }
                Err(error) => {
                    let error = ProviderError::transient(Provider::ElevenLabs, error);
                    act.queue.clear();
                    act.call.do_send(FromTts::Failed {
                        clause,
                        error: error.clone(),
                    });
                    act.failures.do_send(ChildFailed {
                        child: Child::Tts,
                        error,
                    });
                    ctx.stop();
                }
            }
        })));
    }
}

type PcmStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Vec<i16>, String>> + Send>>;

async fn synthesise(
    client: ElevenLabsClient,
    voice: Option<String>,
    rate: u32,
    language: String,
    text: String,
) -> Result<PcmStream, String> {
    let request = client.speak(&text, voice.as_deref(), rate, &language);
    let stream = tokio::time::timeout(FIRST_BYTE_TIMEOUT, request)
        .await
        .map_err(|_| format!("no answer within {FIRST_BYTE_TIMEOUT:?}"))??;
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
        let fut = synthesise(
            self.client.clone(),
            self.voice_id.clone(),
            self.sample_rate,
            self.language.clone(),
            msg.text,
        );
        let (call, key) = (self.call.clone(), msg.key);
        ctx.spawn(
            async move {
                let Ok(mut stream) = fut.await else { return };
                let mut pcm = Vec::new();
                while let Some(Ok(chunk)) = stream.next().await {
                    pcm.extend(chunk);
                }
                if !pcm.is_empty() {
                    call.do_send(FromTts::Cached { key, pcm });
                }
            }
            .into_actor(self),
        );
    }
}
