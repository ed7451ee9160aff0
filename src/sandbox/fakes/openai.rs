//! A fake OpenAI-compatible chat completions server: SSE streaming exactly as OpenAI frames it
//! (role chunk, content fragments, tool-call fragments keyed by index, finish chunk, `[DONE]`),
//! JSON errors, and `response_format` extraction answered without streaming.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{json, Value};

use super::brain;
use super::Knobs;

/// A running fake.
#[derive(Clone)]
pub struct FakeOpenAi {
    /// The `OPENAI_BASE_URL` to use (ends in `/v1`).
    pub base_url: String,
    pub knobs: Knobs,
    /// The latest request bodies, so tests can check what we send a provider.
    pub requests: RequestLog,
}

/// The last `RequestLog::KEPT` chat requests received (bounded: the fake also serves benchmarks).
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<VecDeque<Value>>>);

impl RequestLog {
    const KEPT: usize = 256;

    fn push(&self, body: &Value) {
        if let Ok(mut log) = self.0.lock() {
            if log.len() == Self::KEPT {
                log.pop_front();
            }
            log.push_back(body.clone());
        }
    }

    pub fn all(&self) -> Vec<Value> {
        self.0
            .lock()
            .map(|log| log.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl FakeOpenAi {
    pub fn start(port: u16) -> std::io::Result<FakeOpenAi> {
        let requests = RequestLog::default();
        let log = web::Data::new(requests.clone());
        let (port, knobs) = super::http::serve(port, move |cfg| {
            cfg.app_data(web::JsonConfig::default().limit(4 << 20))
                .app_data(log.clone())
                .route("/_fake/stats", web::get().to(super::http::stats))
                .route("/v1/chat/completions", web::post().to(completions))
                .route("/chat/completions", web::post().to(completions));
        })?;
        Ok(FakeOpenAi {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            knobs,
            requests,
        })
    }
}

fn error(status: u16, message: &str, kind: &str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(code)
        .json(json!({"error": {"message": message, "type": kind, "param": null, "code": kind}}))
}

async fn completions(
    knobs: web::Data<Knobs>,
    log: web::Data<RequestLog>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    log.push(&body);
    let authorised = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        // A key containing "revoked" is refused as a revoked key is (tests of a bad key).
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7 && !v.contains("revoked"));
    if !authorised {
        return error(401, "Incorrect API key provided.", "invalid_api_key");
    }
    // The round trip and the model's time to its first token (the realistic profile), and
    // the handshakes of a new connection.
    let first = super::http::connection_setup(&req, &knobs, |t| t.llm_rtt)
        + knobs.sample(|t| t.llm_rtt)
        + knobs.sample(|t| t.llm_first_token);
    tokio::time::sleep(knobs.first_delay() + first).await;
    if knobs.should_hang() {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    if knobs.should_fail() {
        return error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        );
    }
    let request = body.into_inner();
    if request.get("response_format").is_some() {
        let facts = brain::extract_from_request(&request);
        return HttpResponse::Ok().json(json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": facts.to_string()}, "finish_reason": "stop"}]
        }));
    }
    let reply = brain::decide(&request);
    let mut chunks = sse_chunks(&reply, request["model"].as_str().unwrap_or("fake"));
    if knobs.omits_done() {
        chunks.pop();
    }
    for chunk in chunks.iter_mut() {
        if chunk.contains("\"content\":\"")
            && !chunk.contains("\"content\":\"\"")
            && knobs.take_wrong_type()
        {
            *chunk = wrong_typed(chunk);
        }
    }
    let pieces = network_reads(chunks, knobs.cuts_odd_chunks());
    let stall = knobs.stall();
    let open = knobs.stream_opened();
    let gaps = knobs.clone();
    // (pieces, events sent, the stream's open count)
    let stream = futures::stream::unfold(
        (pieces.into_iter(), 0usize, open),
        move |(mut it, sent, open)| {
            let gap = match gaps.timings() {
                Some(t) => t.llm_token_gap.sample(&mut rand::thread_rng()),
                None => Duration::from_millis(8),
            };
            async move {
                let (piece, new_event) = it.next()?;
                if new_event {
                    // Tokens trickle out as from a real model; the unkind one stalls after its
                    // first token (the role chunk, then one token).
                    if sent == 2 {
                        match stall {
                            Some(Some(d)) => tokio::time::sleep(d).await,
                            Some(None) => futures::future::pending::<()>().await,
                            None => {}
                        }
                    }
                    tokio::time::sleep(gap).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let sent = sent + usize::from(new_event);
                Some((
                    Ok::<Bytes, actix_web::Error>(Bytes::from(piece)),
                    (it, sent, open),
                ))
            }
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(stream)
}

/// The network reads of the SSE events: one per event, or — unkind — each event cut in two
/// inside its first multi-byte character (or at an odd offset), so a character is split
/// across reads. `(bytes, starts a new event)`.
fn network_reads(events: Vec<String>, odd: bool) -> Vec<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    for event in events {
        let bytes = event.into_bytes();
        if !odd || bytes.len() < 2 {
            out.push((bytes, true));
            continue;
        }
        let cut = bytes
            .iter()
            .position(|b| *b >= 0x80)
            .map(|lead| lead + 1)
            .unwrap_or((bytes.len() / 2) | 1)
            .min(bytes.len() - 1);
        out.push((bytes[..cut].to_vec(), true));
        out.push((bytes[cut..].to_vec(), false));
    }
    out
}

/// A text chunk whose `content` is a list (`Knobs::wrong_types_next`).
fn wrong_typed(chunk: &str) -> String {
    let json = chunk.trim().trim_start_matches("data: ");
    let Ok(mut value) = serde_json::from_str::<Value>(json) else {
        return chunk.to_string();
    };
    let content = &mut value["choices"][0]["delta"]["content"];
    *content = json!([content.take()]);
    format!("data: {value}\n\n")
}

/// The SSE events of a reply: text split into word tokens, each tool call in three fragments.
pub fn sse_chunks(reply: &brain::Reply, model: &str) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let c = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        format!("data: {c}\n\n")
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    if let Some(text) = &reply.text {
        for (i, word) in text.split(' ').enumerate() {
            let token = if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            };
            out.push(chunk(json!({"content": token}), Value::Null));
        }
    }
    for (index, (name, args)) in reply.tool_calls.iter().enumerate() {
        let args = args.to_string();
        let third = args.len().div_ceil(3).max(1);
        let pieces: Vec<String> = args
            .as_bytes()
            .chunks(third)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        out.push(chunk(
            json!({"tool_calls": [{"index": index, "id": format!("call_{index}_{name}"), "type": "function", "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
        ));
        for piece in pieces {
            out.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                Value::Null,
            ));
        }
    }
    let finish = if reply.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out.push(chunk(json!({}), json!(finish)));
    out.push("data: [DONE]\n\n".to_string());
    out
}
