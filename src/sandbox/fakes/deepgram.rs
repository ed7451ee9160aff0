//! A fake Deepgram live transcription server (tokio-tungstenite): checks `Authorization:
//! Token …` (401 with `dg-error` otherwise), answers the upgrade with `dg-request-id`, listens
//! to linear16 audio at the URL's `sample_rate`, recovers the words from the sandbox voice and
//! sends `SpeechStarted`, interim and final `Results` (`speech_final` at the end of an
//! utterance) and `UtteranceEnd`. `CloseStream` → `Metadata` and close 1000.

use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::profile::Timings;
use super::Knobs;
use crate::sandbox::voice_codec::{Decoder, Heard};

#[derive(Clone)]
pub struct FakeDeepgram {
    /// The `DEEPGRAM_URL` to use.
    pub url: String,
    pub knobs: Knobs,
}

impl FakeDeepgram {
    pub async fn start(port: u16) -> std::io::Result<FakeDeepgram> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let knobs = Knobs::default();
        let k = knobs.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let k = k.clone();
                tokio::spawn(serve(stream, k));
            }
        });
        Ok(FakeDeepgram {
            url: format!("ws://127.0.0.1:{port}/v1/listen"),
            knobs,
        })
    }

    /// Streams open right now (a call that ended must not leave one behind).
    pub fn open_streams(&self) -> usize {
        self.knobs.open_streams()
    }
}

fn results(text: &str, is_final: bool, start: f64, duration: f64) -> String {
    results_with(text, is_final, is_final, false, start, duration)
}

fn results_with(
    text: &str,
    is_final: bool,
    speech_final: bool,
    from_finalize: bool,
    start: f64,
    duration: f64,
) -> String {
    json!({
        "type": "Results", "channel_index": [0, 1], "start": start, "duration": duration,
        "is_final": is_final, "speech_final": speech_final, "from_finalize": from_finalize,
        "channel": {"alternatives": [{"transcript": text, "confidence": if text.is_empty() { 0.0 } else { 0.98 }, "words": []}]},
        "metadata": {"request_id": "fake", "model_info": {"name": "fake-nova", "version": "1", "arch": "nova-2"}}
    })
    .to_string()
}

/// A result whose `is_final` is a string (`Knobs::wrong_types_next`).
fn wrong_typed(frame: &str) -> String {
    frame
        .replacen("\"is_final\":true", "\"is_final\":\"true\"", 1)
        .replacen("\"is_final\":false", "\"is_final\":\"false\"", 1)
}

/// Real Deepgram answers about once a second while it hears audio, words or not.
const EMPTY_RESULTS_EVERY: f64 = 1.0;

/// What a result is, for how long it takes to reach the client (the realistic profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// A final after the endpointing silence: the service's own time, then the round trip.
    Final,
    /// The answer to `Finalize`.
    Finalized,
    /// Anything else (interims, `SpeechStarted`, `UtteranceEnd`): the round trip.
    Other,
}

/// What the client asked for in the URL.
#[derive(Debug, Clone, Copy)]
struct Requested {
    sample_rate: u32,
    endpointing_ms: Option<u64>,
    utterance_end_ms: Option<u64>,
}

/// The unkind transcriber's timing (`Knobs::endpointing`, or the request's own `endpointing`
/// under the realistic profile): finals by silence, late interims.
#[derive(Debug, Default)]
struct Endpointer {
    endpointing: f64,
    interim_first: f64,
    interim_every: f64,
    utterance_end: f64,
    /// Audio time of the end of the last voiced chunk.
    last_voiced: f64,
    speech_started_at: f64,
    last_interim: Option<f64>,
    /// Words heard and not yet sent as final.
    pending: String,
    /// A final was sent and `UtteranceEnd` is due after enough silence.
    utterance_end_due: bool,
    /// The realistic profile: interim timings are drawn afresh for each utterance.
    timings: Option<Timings>,
    /// For the interims' lag (`Knobs::interim_lag_words`).
    knobs: Knobs,
}

impl Endpointer {
    fn new(knobs: &Knobs, requested: &Requested) -> Option<Endpointer> {
        let (e, first, every, end) = knobs.endpointing_ms();
        let secs = |ms: u64| ms as f64 / 1000.0;
        if let Some(timings) = knobs.timings() {
            // As the real service: the request's endpointing silence (Deepgram's default,
            // 10 ms, when the URL has none), unless a test set its own.
            let endpointing = if e > 0 {
                e
            } else {
                requested.endpointing_ms.unwrap_or(10)
            };
            let mut endpointer = Endpointer {
                endpointing: secs(endpointing),
                utterance_end: secs(requested.utterance_end_ms.unwrap_or(1000)),
                timings: Some(timings),
                knobs: knobs.clone(),
                ..Default::default()
            };
            endpointer.draw_interim_timings();
            return Some(endpointer);
        }
        (e > 0).then(|| Endpointer {
            endpointing: secs(e),
            interim_first: secs(first),
            interim_every: secs(every),
            utterance_end: secs(end),
            knobs: knobs.clone(),
            ..Default::default()
        })
    }

    fn draw_interim_timings(&mut self) {
        if let Some(t) = self.timings {
            let mut rng = rand::thread_rng();
            self.interim_first = t.stt_interim_first.sample(&mut rng).as_secs_f64();
            self.interim_every = t.stt_interim_every.sample(&mut rng).as_secs_f64();
        }
    }

    /// Frames to send after a chunk of audio ending at `now`.
    fn on_audio(&mut self, voiced: bool, heard: Vec<Heard>, now: f64) -> Vec<(Sent, String)> {
        let mut out = Vec::new();
        if voiced {
            self.last_voiced = now;
        }
        for h in heard {
            match h {
                Heard::SpeechStarted => {
                    if !self.pending.trim().is_empty() {
                        // A breath shorter than the endpointing: the words so far are final,
                        // but the speaker has not finished.
                        let text = std::mem::take(&mut self.pending);
                        out.push((
                            Sent::Final,
                            results_with(
                                text.trim(),
                                true,
                                false,
                                false,
                                self.speech_started_at,
                                now - self.speech_started_at,
                            ),
                        ));
                    }
                    self.speech_started_at = now;
                    self.last_interim = None;
                    self.utterance_end_due = false;
                    self.draw_interim_timings();
                    out.push((
                        Sent::Other,
                        json!({"type": "SpeechStarted", "channel": [0, 1], "timestamp": now})
                            .to_string(),
                    ));
                }
                Heard::Partial(text) => {
                    let since_start = now - self.speech_started_at;
                    let due = match self.last_interim {
                        None => since_start >= self.interim_first,
                        Some(at) => now - at >= self.interim_every,
                    };
                    let shown = self.knobs.lagging_interim(&text);
                    if let (true, Some(text)) = (due, shown) {
                        self.last_interim = Some(now);
                        out.push((
                            Sent::Other,
                            results(&text, false, self.speech_started_at, since_start),
                        ));
                        if let Some(t) = self.timings {
                            let every = t.stt_interim_every.sample(&mut rand::thread_rng());
                            self.interim_every = every.as_secs_f64();
                        }
                    }
                }
                Heard::Utterance { text, .. } => {
                    if !self.pending.is_empty() {
                        self.pending.push(' ');
                    }
                    self.pending.push_str(text.trim());
                }
            }
        }
        let silence = now - self.last_voiced;
        if !self.pending.trim().is_empty() && !voiced && silence >= self.endpointing {
            out.push((Sent::Final, self.final_frame(now, true, false)));
        } else if self.utterance_end_due && silence >= self.utterance_end {
            self.utterance_end_due = false;
            out.push((Sent::Other, json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": self.last_voiced}).to_string()));
        }
        out
    }

    fn final_frame(&mut self, now: f64, speech_final: bool, from_finalize: bool) -> String {
        let text = std::mem::take(&mut self.pending);
        self.utterance_end_due = true;
        results_with(
            text.trim(),
            true,
            speech_final,
            from_finalize,
            self.speech_started_at,
            now - self.speech_started_at,
        )
    }

    /// `{"type":"Finalize"}`: what was heard, final now, marked `from_finalize` (empty when
    /// nothing was pending, as the real service answers a flush of silence).
    fn finalize(&mut self, now: f64) -> Option<String> {
        if self.pending.trim().is_empty() {
            return Some(results_with("", true, false, true, now, 0.0));
        }
        Some(self.final_frame(now, false, true))
    }
}

/// When a result reaches the client: at once under the instant profile; after the round
/// trip (and the service's own time for finals) under the realistic one.
fn delay_of(sent: Sent, knobs: &Knobs) -> std::time::Duration {
    let rtt = knobs.sample(|t| t.stt_rtt);
    match sent {
        Sent::Final => rtt + knobs.sample(|t| t.stt_final),
        Sent::Finalized => rtt + knobs.sample(|t| t.stt_finalize),
        Sent::Other => rtt,
    }
}

/// How much later a final comes than `delay_of` says: one whose words a test holds
/// (`Knobs::hold_finals_containing`), so it lands where the test wants it, e.g. after the
/// caller went on from a breath. Interims and empty finals are never held.
fn held_for(frame: &str, knobs: &Knobs) -> std::time::Duration {
    // Parsed only when a test holds finals: the fake runs `bench`'s load too.
    if !knobs.holds_finals() {
        return std::time::Duration::ZERO;
    }
    let Ok(result) = serde_json::from_str::<serde_json::Value>(frame) else {
        return std::time::Duration::ZERO;
    };
    let text = result["channel"]["alternatives"][0]["transcript"]
        .as_str()
        .unwrap_or("");
    if result["is_final"] == true && !text.is_empty() {
        knobs.final_hold(text)
    } else {
        std::time::Duration::ZERO
    }
}

/// Sends what it is given when it is due, in order (one TCP stream keeps its order).
fn spawn_writer(
    mut sink: futures::stream::SplitSink<WebSocketStream<TcpStream>, Message>,
) -> (
    tokio::sync::mpsc::UnboundedSender<(Instant, Message)>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Message)>();
    let writer = tokio::spawn(async move {
        let mut last = Instant::now();
        while let Some((due, message)) = rx.recv().await {
            last = last.max(due);
            tokio::time::sleep_until(last).await;
            let close = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || close {
                break;
            }
        }
    });
    (tx, writer)
}

fn query_value(query: &str, name: &str) -> Option<u64> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

// tungstenite's handshake callback signature fixes the error type.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, knobs: Knobs) {
    let requested = Arc::new(Mutex::new(Requested {
        sample_rate: 8000,
        endpointing_ms: None,
        utterance_end_ms: None,
    }));
    let r = requested.clone();
    let k = knobs.clone();
    let callback = move |req: &Request,
                         mut response: Response|
          -> Result<Response, ErrorResponse> {
        if req.uri().path() == "/_fake/stats" {
            // Not a WebSocket: answer the stats as a plain HTTP response.
            let mut stats = ErrorResponse::new(Some(k.stats().to_string()));
            *stats.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::OK;
            return Err(stats);
        }
        let auth = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !(auth.starts_with("Token ") || auth.starts_with("Bearer ")) {
            let body = json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "fake"}).to_string();
            let mut error = ErrorResponse::new(Some(body));
            *error.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
            if let Ok(v) = "Invalid credentials.".parse() {
                error.headers_mut().insert("dg-error", v);
            }
            return Err(error);
        }
        let query = req.uri().query().unwrap_or("");
        let mut asked = r.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rate) = query_value(query, "sample_rate") {
            asked.sample_rate = rate as u32;
        }
        asked.endpointing_ms = query_value(query, "endpointing");
        asked.utterance_end_ms = query_value(query, "utterance_end_ms");
        if let Ok(v) = crate::config::random_token().parse() {
            response.headers_mut().insert("dg-request-id", v);
        }
        Ok(response)
    };
    let buffers = Some(crate::sandbox::websocket_buffers::small());
    let accepting = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, buffers);
    let Ok(socket) = accepting.await else {
        return;
    };
    let _open = knobs.stream_opened();
    let requested = *requested.lock().unwrap_or_else(|e| e.into_inner());
    let rate = requested.sample_rate;
    let (sink, mut source) = socket.split();
    let (out, writer) = spawn_writer(sink);
    let send = |sent: Sent, frame: String| {
        // Read before a wrong type spoils the frame's `is_final`.
        let held = held_for(&frame, &knobs);
        let words = frame.contains("\"is_final\":") && !frame.contains("\"transcript\":\"\"");
        let frame = if words && knobs.take_wrong_type() {
            wrong_typed(&frame)
        } else {
            frame
        };
        let due = Instant::now() + delay_of(sent, &knobs) + held;
        out.send((due, Message::Text(frame.into()))).is_ok()
    };
    let mut endpointer = Endpointer::new(&knobs, &requested);
    let mut last_sent_at = 0.0f64;
    let mut decoder = Decoder::new(rate);
    let mut audio_samples: u64 = 0;
    let mut utterance_start = 0.0;
    let drop_after = knobs.take_drop_after();
    let mute_after = knobs.take_mute_after();
    while let Some(Ok(message)) = source.next().await {
        match message {
            Message::Binary(bytes) => {
                if bytes.is_empty() {
                    let reason = CloseFrame {
                        code: CloseCode::Policy,
                        reason: "DATA-0000".into(),
                    };
                    let _ = out.send((Instant::now(), Message::Close(Some(reason))));
                    break;
                }
                let (samples, _) = crate::media::audio::pcm_from_bytes(&bytes);
                audio_samples += samples.len() as u64;
                let now = audio_samples as f64 / rate as f64;
                if drop_after.is_some_and(|ms| now * 1000.0 >= ms as f64) {
                    // Simulates a provider outage: the socket just goes away.
                    writer.abort();
                    return;
                }
                let voiced = crate::sandbox::voice_codec::is_voiced(&samples);
                let heard = decoder.push(&samples);
                let mut frames = Vec::new();
                if let Some(e) = endpointer.as_mut() {
                    frames = e.on_audio(voiced, heard, now);
                } else {
                    for heard in heard {
                        match heard {
                            Heard::SpeechStarted => {
                                utterance_start = now;
                                frames.push((Sent::Other, json!({"type": "SpeechStarted", "channel": [0, 1], "timestamp": now}).to_string()));
                            }
                            Heard::Partial(text) if text.len() % 4 == 0 => {
                                if let Some(text) = knobs.lagging_interim(&text) {
                                    frames.push((
                                        Sent::Other,
                                        results(
                                            &text,
                                            false,
                                            utterance_start,
                                            now - utterance_start,
                                        ),
                                    ));
                                }
                            }
                            Heard::Partial(_) => {}
                            Heard::Utterance { text, .. } => {
                                tokio::time::sleep(knobs.first_delay()).await;
                                frames.push((
                                    Sent::Final,
                                    results(
                                        text.trim(),
                                        true,
                                        utterance_start,
                                        now - utterance_start,
                                    ),
                                ));
                                frames.push((Sent::Other, json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": now}).to_string()));
                            }
                        }
                    }
                }
                if frames.is_empty() && now - last_sent_at >= EMPTY_RESULTS_EVERY {
                    frames.push((
                        Sent::Other,
                        results("", false, last_sent_at, now - last_sent_at),
                    ));
                }
                if mute_after.is_some_and(|ms| now * 1000.0 >= ms as f64) {
                    // Simulates a provider that stops answering while the socket stays up.
                    continue;
                }
                for (sent, frame) in frames {
                    last_sent_at = now;
                    if !send(sent, frame) {
                        break;
                    }
                }
            }
            Message::Text(text) if text.contains("Finalize") => {
                let now = audio_samples as f64 / rate as f64;
                if let Some(frame) = endpointer.as_mut().and_then(|e| e.finalize(now)) {
                    send(Sent::Finalized, frame);
                }
            }
            Message::Text(text) if text.contains("CloseStream") => {
                let metadata = json!({"type": "Metadata", "transaction_key": "deprecated", "request_id": "fake",
                    "sha256": "incomplete", "duration": audio_samples as f64 / rate as f64, "channels": 1});
                send(Sent::Other, metadata.to_string());
                let close = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                };
                let _ = out.send((Instant::now(), Message::Close(Some(close))));
                break;
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    // What is queued still goes out (a final, the `Metadata` and close after `CloseStream`).
    drop(out);
    let _ = writer.await;
}
