//! `LlmActor`: one streamed chat completion at a time, cancellable mid-stream. Retries a
//! retryable failure (429, 5xx, timeout) twice with backoff *before the first token*; after
//! that, or on a permanent error, it reports the failure and stops for its supervisor to
//! restart it, and the call decides what to do (retry within its budget, or apologise).

use std::time::Duration;

use actix::prelude::*;
use futures::StreamExt;

use super::messages::{CancelGeneration, Child, ChildFailed, FromLlm, Generate};
use crate::providers::error::ProviderError;
use crate::providers::openai::{LlmError, OpenAiClient};

pub struct LlmActor {
    client: OpenAiClient,
    call: Recipient<FromLlm>,
    failures: Recipient<ChildFailed>,
    current: Option<SpawnHandle>,
}

impl LlmActor {
    pub fn new(
        client: OpenAiClient,
        call: Recipient<FromLlm>,
        failures: Recipient<ChildFailed>,
    ) -> LlmActor {
        LlmActor {
            client,
            call,
            failures,
            current: None,
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

/// The stream ended with an error after its retries.
#[derive(Message)]
#[rtype(result = "()")]
struct StreamFailed(ProviderError);

impl Handler<Generate> for LlmActor {
    type Result = ();
    fn handle(&mut self, msg: Generate, ctx: &mut Context<Self>) {
        if let Some(handle) = self.current.take() {
            ctx.cancel_future(handle);
        }
        let (client, call, me) = (self.client.clone(), self.call.clone(), ctx.address());
        let generation = msg.generation;
        let fut = async move {
            let mut backoff = Duration::from_millis(300);
            let mut tries = 0;
            let mut stream = loop {
                match client.stream(&msg.messages, &msg.tools).await {
                    Ok(stream) => break Box::pin(stream),
                    Err(LlmError {
                        retryable: true,
                        message,
                    }) if tries < 2 => {
                        tracing::warn!(%message, "LLM request failed; retrying");
                        tries += 1;
                        tokio::time::sleep(backoff).await;
                        backoff *= 3;
                    }
                    Err(e) => {
                        let error = e.to_provider_error();
                        call.do_send(FromLlm::Failed {
                            generation,
                            error: error.clone(),
                        });
                        me.do_send(StreamFailed(error));
                        return;
                    }
                }
            };
            while let Some(item) = stream.next().await {
                match item {
                    Ok(delta) => call.do_send(FromLlm::Delta { generation, delta }),
                    Err(e) => {
                        let error = e.to_provider_error();
                        call.do_send(FromLlm::Failed {
                            generation,
                            error: error.clone(),
                        });
                        me.do_send(StreamFailed(error));
                        return;
                    }
                }
            }
            call.do_send(FromLlm::Done { generation });
        };
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

impl Handler<StreamFailed> for LlmActor {
    type Result = ();
    fn handle(&mut self, msg: StreamFailed, ctx: &mut Context<Self>) {
        self.failures.do_send(ChildFailed {
            child: Child::Llm,
            error: msg.0,
        });
        ctx.stop();
    }
}
