//! The media socket's own contract: refused without the secret, tolerant of bad frames.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use voice_runtime::sandbox::exotel::Outcome;

use crate::both_backends;
use crate::engine_support::{campaign_with_leads, eventually, start};
use crate::helpers::Backend;
use crate::live_support::live_app;

async fn the_socket_needs_the_secret_and_a_known_rate(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let ws = live.e.app.url("/media").replace("http://", "ws://");
    let refused = tokio_tungstenite::connect_async(ws.as_str()).await;
    assert!(refused.is_err(), "a socket without the token was accepted");
    let wrong = tokio_tungstenite::connect_async(format!("{ws}?token=guess").as_str()).await;
    assert!(wrong.is_err());
    let bad_rate = tokio_tungstenite::connect_async(
        format!("{ws}?token=test-secret&sample-rate=11025").as_str(),
    )
    .await;
    assert!(bad_rate.is_err());
    let ok = tokio_tungstenite::connect_async(format!("{ws}?token=test-secret").as_str()).await;
    assert!(ok.is_ok());
}

async fn malformed_frames_are_ignored_and_the_call_goes_on(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let id = campaign_with_leads(&live.e, 1, json!({"playbook": "test_short"}), |_| {
        vec![Outcome::Hold]
    })
    .await;
    start(&live.e, id).await;
    eventually(10, "the call is placed", || async {
        !live.e.sim.dials().is_empty()
    })
    .await;
    let sid = live.e.sim.dials()[0].call_sid.clone();
    let ws = live
        .e
        .app
        .url("/media?token=test-secret")
        .replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(ws.as_str()).await.unwrap();
    let text = |v: &str| Message::Text(v.to_string().into());
    let media = |payload: &str| {
        json!({"event": "media", "stream_sid": "S1", "media": {"payload": payload}}).to_string()
    };
    let start_event = json!({"event": "start", "start": {"streamSid": "S1", "callSid": sid, "media_format": {"sample_rate": 8000}}}).to_string();
    for frame in [
        media("AAAA"), // before start
        "not json at all".into(),
        json!({"no": "event"}).to_string(),
        json!({"event": "connected"}).to_string(),
        start_event.clone(),
        start_event, // a second start
        media("!!!not base64"),
        media("AAAA"), // 3 bytes: odd
        json!({"event": "telepathy"}).to_string(),
        media("AAAAAA=="),
    ] {
        socket.send(text(&frame)).await.unwrap();
    }
    socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    // The call goes on: the greeting arrives in 100 ms chunks (`EXOTEL_OUTBOUND_CHUNK_MS`'s
    // default, Exotel's documented minimum) with snake_case ids.
    let mut frames = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while frames < 3 && tokio::time::Instant::now() < deadline {
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs(1), socket.next()).await
        {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["event"] == "media" {
                assert_eq!(v["stream_sid"], "S1");
                let payload = v["media"]["payload"].as_str().unwrap();
                assert_eq!(
                    voice_runtime::media::audio::pcm_from_base64(payload)
                        .unwrap()
                        .len(),
                    800
                );
                frames += 1;
            }
        }
    }
    assert_eq!(frames, 3, "no greeting audio after bad frames");
    let sessions: Value = live
        .e
        .app
        .get("/debug/sessions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        sessions["sessions"][0]["conversation"]["stage"], "speaking",
        "{sessions}"
    );
    let stop =
        json!({"event": "stop", "stop": {"call_sid": sid, "reason": "callended"}}).to_string();
    socket.send(text(&stop)).await.unwrap();
    eventually(10, "the conversation is saved", || async {
        live.conversation(id).await.is_some()
    })
    .await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "no_response");
    assert_eq!(c["transcript"][0]["interrupted"], true, "{c}");
}

both_backends!(
    the_socket_needs_the_secret_and_a_known_rate,
    malformed_frames_are_ignored_and_the_call_goes_on,
);
