//! `LlmActor`: one streamed chat completion at a time, cancellable mid-stream. It never retries
//! by itself: the first failure (an HTTP error, a deadline — first token, idle gap, total — or a
//! stream cut before `[DONE]`) is reported at once as `FromLlm::Failed` with its
//! `ProviderError`, and the call decides (apologise, retry once, close; a permanent error ends
//! the call). It also reports `ChildFailed` so the call's restart budget sees it; it has no
//! connection state to reset, so it does not stop for a restart.
//!
//! Lifecycle: it lives while the call holds its address; a generation in flight is bounded by
//! the deadlines and stops early once the call is gone. Its `LiveActor` guard counts it in
//! `voice_actors{kind="llm"}`.

use actix::prelude::*;
use futures::StreamExt;
use tracing::Instrument;

use super::messages::{CancelGeneration, Child, ChildFailed, FromLlm, Generate};
use crate::providers::openai::OpenAiClient;
use crate::telemetry_metrics::{ActorKind, LiveActor};

pub struct LlmActor {
    client: OpenAiClient,
    call: Recipient<FromLlm>,
    failures: Recipient<ChildFailed>,
    current: Option<SpawnHandle>,
    /// The call's span: every log line of this child carries the call's `call_sid`.
    span: tracing::Span,
    _live: LiveActor,
}

impl LlmActor {
    pub fn new(
        client: OpenAiClient,
        call: Recipient<FromLlm>,
        failures: Recipient<ChildFailed>,
        span: tracing::Span,
    ) -> LlmActor {
        LlmActor {
            client,
            call,
            failures,
            current: None,
            span,
            _live: LiveActor::new(ActorKind::Llm),
        }
    }
}

impl Actor for LlmActor {
    type Context = Context<Self>;
}

impl Supervised for LlmActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.current = None;
    }
}

impl Handler<Generate> for LlmActor {
    type Result = ();
    fn handle(&mut self, msg: Generate, ctx: &mut Context<Self>) {
        if let Some(handle) = self.current.take() {
            ctx.cancel_future(handle);
        }
        let (client, call, failures) = (
            self.client.clone(),
            self.call.clone(),
            self.failures.clone(),
        );
        let generation = msg.generation;
        let fut = async move {
            let error = match client.stream(&msg.messages, &msg.tools).await {
                Ok(stream) => {
                    let mut stream = Box::pin(stream);
                    loop {
                        match stream.next().await {
                            Some(Ok(delta)) if call.connected() => {
                                call.do_send(FromLlm::Delta { generation, delta })
                            }
                            // The call is gone: drop the request.
                            Some(Ok(_)) => return,
                            Some(Err(e)) => break e,
                            None => {
                                call.do_send(FromLlm::Done { generation });
                                return;
                            }
                        }
                    }
                }
                Err(e) => e,
            };
            tracing::warn!(generation, kind = ?error.kind, %error, "LLM generation failed");
            call.do_send(FromLlm::Failed {
                generation,
                error: error.clone(),
            });
            failures.do_send(ChildFailed {
                child: Child::Llm,
                error,
            });
        }
        .instrument(self.span.clone());
        self.current = Some(ctx.spawn(fut.into_actor(self)));
    }
}

impl Handler<CancelGeneration> for LlmActor {
    type Result = ();
    fn handle(&mut self, _: CancelGeneration, ctx: &mut Context<Self>) {
        if let Some(handle) = self.current.take() {
            ctx.cancel_future(handle);
        }
    }
}
