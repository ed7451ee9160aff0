//! A fake ElevenLabs streaming TTS: `POST /v1/text-to-speech/{voice}/stream?output_format=…`
//! answers headerless PCM16 in the sandbox voice, streamed in chunks faster than real time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{json, Value};

use super::Knobs;
use crate::media::audio::pcm_to_bytes;
use crate::sandbox::voice_codec;

#[derive(Clone)]
pub struct FakeElevenLabs {
    pub base_url: String,
    pub knobs: Knobs,
    /// Speech requests received (tests check that cached audio is not asked for again).
    requests: web::Data<AtomicU64>,
}

impl FakeElevenLabs {
    pub fn start(port: u16) -> std::io::Result<FakeElevenLabs> {
        let requests = web::Data::new(AtomicU64::new(0));
        let counter = requests.clone();
        let (port, knobs) = super::http::serve(port, move |cfg| {
            cfg.app_data(counter.clone())
                .route("/_fake/stats", web::get().to(super::http::stats))
                .route("/v1/text-to-speech/{voice}/stream", web::post().to(stream));
        })?;
        Ok(FakeElevenLabs {
            base_url: format!("http://127.0.0.1:{port}"),
            knobs,
            requests,
        })
    }

    /// How many speech requests this fake has received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

fn detail(status: u16, code: &str, message: &str) -> HttpResponse {
    let s = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(s).json(json!({"detail": {"status": code, "message": message}}))
}

async fn stream(
    knobs: web::Data<Knobs>,
    requests: web::Data<AtomicU64>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    requests.fetch_add(1, Ordering::SeqCst);
    // A key containing "revoked" is refused as a revoked key is (tests of a bad key).
    let key_ok = req
        .headers()
        .get("xi-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.contains("revoked"));
    if !key_ok {
        return detail(401, "invalid_api_key", "Invalid API key");
    }
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    let rate = match query
        .get("output_format")
        .map(String::as_str)
        .unwrap_or("mp3_44100_128")
    {
        "pcm_8000" => 8000,
        "pcm_16000" => 16000,
        "pcm_24000" => 24000,
        other => {
            return detail(
                400,
                "unsupported_format",
                &format!("the fake speaks pcm_8000/16000/24000, not {other}"),
            )
        }
    };
    let Some(text) = body["text"].as_str().filter(|t| !t.trim().is_empty()) else {
        return detail(422, "invalid_text", "text is required");
    };
    if knobs.should_fail() || knobs.should_fail_text(text) {
        return detail(500, "system_busy", "The system is busy");
    }
    let hang = knobs.should_hang() || knobs.should_hang_text(text);
    // The round trip and the model's time to first audio (the realistic profile).
    let delay = knobs.first_delay()
        + super::http::connection_setup(&req, &knobs, |t| t.tts_rtt)
        + knobs.sample(|t| t.tts_rtt)
        + knobs.sample(|t| t.tts_first_byte);
    // 100 ms chunks, several times faster than real time.
    let every = knobs.timings().map_or(Duration::from_millis(20), |t| {
        Duration::from_secs_f64(0.1 / t.tts_speed.max(1.0))
    });
    let bytes = pcm_to_bytes(&voice_codec::encode(text, rate));
    // 100 ms of audio per chunk, several times faster than real time, as the real service;
    // the unkind fake cuts chunks of odd length (a sample split across two reads).
    let chunk = (rate as usize / 10) * 2 + usize::from(knobs.cuts_odd_chunks());
    let pieces: Vec<Vec<u8>> = bytes.chunks(chunk).map(<[u8]>::to_vec).collect();
    let stall = knobs.stall();
    let open = knobs.stream_opened();
    // (pieces, chunks sent, the stream's open count)
    let stream = futures::stream::unfold(
        (pieces.into_iter(), 0usize, open),
        move |(mut it, sent, open)| async move {
            match sent {
                0 => {
                    if hang {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    tokio::time::sleep(delay).await;
                }
                // Unkind: a stall mid-stream, after the first chunk.
                1 => match stall {
                    Some(Some(d)) => tokio::time::sleep(d).await,
                    Some(None) => futures::future::pending::<()>().await,
                    None => tokio::time::sleep(every).await,
                },
                _ => tokio::time::sleep(every).await,
            }
            let next = it.next()?;
            Some((
                Ok::<Bytes, actix_web::Error>(Bytes::from(next)),
                (it, sent + 1, open),
            ))
        },
    );
    HttpResponse::Ok()
        .content_type("audio/pcm")
        .streaming(stream)
}
