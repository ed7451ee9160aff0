//! A fake Deepgram live transcription server (tokio-tungstenite): checks `Authorization:
//! Token …` (401 with `dg-error` otherwise), answers the upgrade with `dg-request-id`, listens
//! to linear16 audio at the URL's `sample_rate`, recovers the words from the sandbox voice and
//! sends `SpeechStarted`, interim and final `Results` (`speech_final` at the end of an
//! utterance) and `UtteranceEnd`. `CloseStream` → `Metadata` and close 1000.

use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::Knobs;
use crate::sandbox::voice_codec::{Decoder, Heard};

#[derive(Clone)]
pub struct FakeDeepgram {
    /// The `DEEPGRAM_URL` to use.
    pub url: String,
    pub knobs: Knobs,
    open: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeDeepgram {
    pub async fn start(port: u16) -> std::io::Result<FakeDeepgram> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let knobs = Knobs::default();
        let k = knobs.clone();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = open.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (k, counter) = (k.clone(), counter.clone());
                tokio::spawn(async move {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    serve(stream, k).await;
                    counter.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        });
        Ok(FakeDeepgram {
            url: format!("ws://127.0.0.1:{port}/v1/listen"),
            knobs,
            open,
        })
    }

    /// Streams open right now (a call that ended must not leave one behind).
    pub fn open_streams(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn results(text: &str, is_final: bool, start: f64, duration: f64) -> String {
    json!({
        "type": "Results", "channel_index": [0, 1], "start": start, "duration": duration,
        "is_final": is_final, "speech_final": is_final, "from_finalize": false,
        "channel": {"alternatives": [{"transcript": text, "confidence": if text.is_empty() { 0.0 } else { 0.98 }, "words": []}]},
        "metadata": {"request_id": "fake", "model_info": {"name": "fake-nova", "version": "1", "arch": "nova-2"}}
    })
    .to_string()
}

// tungstenite's handshake callback signature fixes the error type.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, knobs: Knobs) {
    let rate = Arc::new(Mutex::new(8000u32));
    let r = rate.clone();
    let callback = move |req: &Request,
                         mut response: Response|
          -> Result<Response, ErrorResponse> {
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
        if let Some(rate) = query
            .split('&')
            .find_map(|p| p.strip_prefix("sample_rate="))
            .and_then(|v| v.parse().ok())
        {
            *r.lock().unwrap_or_else(|e| e.into_inner()) = rate;
        }
        if let Ok(v) = crate::config::random_token().parse() {
            response.headers_mut().insert("dg-request-id", v);
        }
        Ok(response)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let rate = *rate.lock().unwrap_or_else(|e| e.into_inner());
    let (mut sink, mut source) = socket.split();
    let mut decoder = Decoder::new(rate);
    let mut audio_samples: u64 = 0;
    let mut utterance_start = 0.0;
    let drop_after = knobs.take_drop_after();
    while let Some(Ok(message)) = source.next().await {
        match message {
            Message::Binary(bytes) => {
                if bytes.is_empty() {
                    let reason = CloseFrame {
                        code: CloseCode::Policy,
                        reason: "DATA-0000".into(),
                    };
                    let _ = sink.send(Message::Close(Some(reason))).await;
                    return;
                }
                let (samples, _) = crate::media::audio::pcm_from_bytes(&bytes);
                audio_samples += samples.len() as u64;
                let now = audio_samples as f64 / rate as f64;
                if drop_after.is_some_and(|ms| now * 1000.0 >= ms as f64) {
                    // Simulates a provider outage: the socket just goes away.
                    return;
                }
                for heard in decoder.push(&samples) {
                    let frame = match heard {
                        Heard::SpeechStarted => {
                            utterance_start = now;
                            json!({"type": "SpeechStarted", "channel": [0, 1], "timestamp": now})
                                .to_string()
                        }
                        Heard::Partial(text) if text.len() % 4 == 0 => {
                            results(&text, false, utterance_start, now - utterance_start)
                        }
                        Heard::Partial(_) => continue,
                        Heard::Utterance { text, .. } => {
                            tokio::time::sleep(knobs.first_delay()).await;
                            let final_frame =
                                results(text.trim(), true, utterance_start, now - utterance_start);
                            if sink.send(Message::Text(final_frame.into())).await.is_err() {
                                return;
                            }
                            json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": now})
                                .to_string()
                        }
                    };
                    if sink.send(Message::Text(frame.into())).await.is_err() {
                        return;
                    }
                }
            }
            Message::Text(text) if text.contains("CloseStream") => {
                let metadata = json!({"type": "Metadata", "transaction_key": "deprecated", "request_id": "fake",
                    "sha256": "incomplete", "duration": audio_samples as f64 / rate as f64, "channels": 1});
                let _ = sink.send(Message::Text(metadata.to_string().into())).await;
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "".into(),
                    })))
                    .await;
                return;
            }
            Message::Close(_) => return,
            _ => {}
        }
    }
}
