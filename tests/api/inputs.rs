//! Inputs that cannot hurt us: hostile numbers in callbacks, per-call tokens in the URLs we
//! hand Exotel, and the media socket's limits (start deadline, socket cap, frame size).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use voice_runtime::sandbox::exotel::Outcome::Hold;
use voice_runtime::telephony::exotel::CallRef;

use crate::both_backends;
use crate::engine_support::*;
use crate::helpers::{error_of, spawn_app_with, Backend, TestApp};

/// Waits until `n` calls are answered and held; returns (sid, ids) of each.
async fn held_calls(e: &EngineApp, n: usize) -> Vec<(String, CallRef)> {
    eventually(60, "the calls are answered", || async {
        let live = e.app.state.engine.registry.list();
        live.len() == n && live.iter().all(|c| c.status.as_str() == "IN_PROGRESS")
    })
    .await;
    e.sim
        .dials()
        .into_iter()
        .map(|d| {
            (
                d.call_sid,
                CallRef::decode(&d.custom_field).expect("our ids"),
            )
        })
        .collect()
}

/// The path and query of a URL the engine minted, on the test app.
fn on_app(e: &EngineApp, minted: &str) -> String {
    let path = minted
        .split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .expect("a callback URL");
    e.app.url(&path)
}

async fn post_json(e: &EngineApp, url: &str, body: &Value) -> reqwest::Response {
    e.app.client.post(url).json(body).send().await.unwrap()
}

/// `"ConversationDuration": 10000000000000` used to panic the handler (DateTime − TimeDelta
/// overflow). Now it is clamped to 4 h and the call closes as any other.
async fn a_huge_duration_in_a_callback_closes_the_call_normally(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Hold]).await;
    start(&e, id).await;
    let (sid, _) = held_calls(&e, 1).await.remove(0);
    let url = e.app.url("/webhooks/exotel/call-status?token=test-secret");
    let body = json!({"CallSid": sid, "Status": "completed", "EventType": "terminal",
        "ConversationDuration": 10_000_000_000_000_i64});
    let response = post_json(&e, &url, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["result"], "ended");
    // Form-encoded, past i64 and negative: ignored as unreadable or clamped, never a panic.
    for duration in ["99999999999999999999", "-5"] {
        let odd = e
            .app
            .client
            .post(&url)
            .form(&[
                ("CallSid", sid.as_str()),
                ("Status", "completed"),
                ("ConversationDuration", duration),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(odd.status(), 200, "{duration}");
    }
    e.sim.release_held();
    let exported: Vec<Value> = e
        .app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exported[0]["status"], "COMPLETED");
    assert_eq!(exported[0]["duration_seconds"], 14_400);
    assert_eq!(leads(&e, id).await[0]["status"], "COMPLETED");
    eventually(10, "completion", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
}

/// The status callback URL of one call opens that call only; the shared secret still opens
/// any (the flow's static URL holds it).
async fn a_callback_token_opens_its_own_call_only(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 2, json!({}), |_| vec![Hold]).await;
    start(&e, id).await;
    let calls = held_calls(&e, 2).await;
    let ((sid_x, x), (sid_y, y)) = (calls[0].clone(), calls[1].clone());
    let minted = e.app.state.engine.status_callback_url(&x);
    assert!(!minted.contains("test-secret"), "{minted}");
    let url_x = on_app(&e, &minted);
    let completed = |sid: &str, call: Option<&CallRef>| {
        let mut body = json!({"CallSid": sid, "Status": "completed", "ConversationDuration": 5});
        if let Some(call) = call {
            body["CustomField"] = Value::from(call.encode());
        }
        body
    };
    // X's token for Y's call: by sid, by ids, or both.
    for body in [
        completed(&sid_y, None),
        completed(&sid_y, Some(&y)),
        completed(&sid_x, Some(&y)),
    ] {
        let refused = post_json(&e, &url_x, &body).await;
        assert_eq!(
            error_of(refused, 401).await["code"],
            "unauthorized",
            "{body}"
        );
    }
    // X's token with X's ids but a forged sid: not applied to any call.
    let forged: Value = post_json(&e, &url_x, &completed("forged-sid", None))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(forged["result"], "ended");
    // A token minted for other ids does not verify.
    let y_ids: String = url::form_urlencoded::byte_serialize(y.encode().as_bytes()).collect();
    let swapped = url_x.replace(
        &url::form_urlencoded::byte_serialize(x.encode().as_bytes()).collect::<String>(),
        &y_ids,
    );
    error_of(post_json(&e, &swapped, &completed(&sid_y, None)).await, 401).await;
    // Both calls are still on.
    assert_eq!(e.app.state.engine.registry.list().len(), 2);
    // X's own token ends X; the shared secret ends Y.
    let ended: Value = post_json(&e, &url_x, &completed(&sid_x, Some(&x)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ended["result"], "ended");
    let secret = e.app.url("/webhooks/exotel/call-status?token=test-secret");
    let ended: Value = post_json(&e, &secret, &completed(&sid_y, None))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ended["result"], "ended");
    e.sim.release_held();
}

/// The media URL of one call opens that call's stream only.
async fn a_media_token_opens_its_own_call_only(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 2, json!({}), |_| vec![Hold]).await;
    start(&e, id).await;
    let calls = held_calls(&e, 2).await;
    let ((_, x), (sid_y, _)) = (calls[0].clone(), calls[1].clone());
    // What the flow's static URL (shared secret) answers: a per-call URL, not the secret.
    let answer: Value = e
        .app
        .client
        .post(e.app.url("/exotel/voicebot-url?token=test-secret"))
        .form(&[("CallSid", "any"), ("CustomField", x.encode().as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let media_x = answer["url"].as_str().unwrap().to_string();
    assert_eq!(media_x, e.app.state.engine.media_url(&x.encode()));
    assert!(!media_x.contains("test-secret"), "{media_x}");
    // The per-call token does not open the voicebot URL (only the secret does).
    let token_x = media_x
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let voicebot = e
        .app
        .client
        .get(e.app.url(&format!("/exotel/voicebot-url?token={token_x}")))
        .send()
        .await
        .unwrap();
    error_of(voicebot, 401).await;
    // X's socket announcing Y's call is closed with 1008 and starts nothing.
    let (mut socket, _) = tokio_tungstenite::connect_async(media_x.as_str())
        .await
        .expect("X's token opens a socket");
    let start_y = json!({"event": "start", "start": {"stream_sid": "S1", "call_sid": sid_y}});
    socket
        .send(Message::Text(start_y.to_string().into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));
    assert!(e
        .app
        .state
        .engine
        .registry
        .list()
        .iter()
        .all(|c| c.actor.is_none()));
    // ...and claimed nothing: Y's real socket (the flow's URL) still gets Y's conversation.
    let (mut real_y, _) = tokio_tungstenite::connect_async(media_ws(&e.app).as_str())
        .await
        .expect("the shared secret opens a socket");
    let start_y = json!({"event": "start", "start": {"stream_sid": "S2", "call_sid": sid_y}});
    real_y
        .send(Message::Text(start_y.to_string().into()))
        .await
        .unwrap();
    eventually(20, "Y's real socket starts Y's conversation", || async {
        e.app
            .state
            .engine
            .registry
            .lookup(&sid_y)
            .is_some_and(|c| c.actor.is_some())
    })
    .await;
    drop(real_y);
    // A wrong token opens no socket at all.
    let forged = media_x.replace(token_x, &"0".repeat(token_x.len()));
    assert!(tokio_tungstenite::connect_async(forged.as_str())
        .await
        .is_err());
    e.sim.release_held();
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads until the server closes, pinging every second (pings must not keep a socket
/// alive); the close code it sent, if any. Bounded: 40 s.
async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code),
            Ok(Some(Ok(_))) => {}
            Err(_) => {
                let _ = socket.send(Message::Ping(vec![1].into())).await;
            }
            Ok(None) | Ok(Some(Err(_))) => return None,
        }
    }
    panic!("the socket was not closed");
}

fn media_ws(app: &TestApp) -> String {
    app.url("/media?token=test-secret")
        .replace("http://", "ws://")
}

/// A socket that never sends `start` is closed (1008) though it pings all along.
async fn a_socket_without_start_is_closed(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(media_ws(&app).as_str())
        .await
        .unwrap();
    socket.send(Message::Ping(vec![1].into())).await.unwrap();
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));
}

/// Frames over 64 KiB close the socket (1009); smaller ones are read.
async fn oversized_frames_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(media_ws(&app).as_str())
        .await
        .unwrap();
    let big = |n: usize| Message::Text("x".repeat(n).into());
    socket.send(big(60 * 1024)).await.unwrap();
    socket.send(Message::Ping(vec![7].into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
    assert!(
        matches!(pong, Ok(Some(Ok(Message::Pong(_))))),
        "a 60 KiB frame closed the socket: {pong:?}"
    );
    socket.send(big(70 * 1024)).await.unwrap();
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Size));
}

/// Open sockets are capped at the node's calls plus a margin; past it the upgrade is refused
/// with 503, and a closed socket gives its place back.
async fn open_sockets_are_capped(backend: Backend) {
    let app = spawn_app_with(backend, &[("MAX_CONCURRENT_CALLS", "1")]).await;
    let cap = voice_runtime::api::state::media_socket_cap(1);
    let mut open = Vec::new();
    for _ in 0..cap {
        let (socket, _) = tokio_tungstenite::connect_async(media_ws(&app).as_str())
            .await
            .expect("under the cap");
        open.push(socket);
    }
    match tokio_tungstenite::connect_async(media_ws(&app).as_str()).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("the socket past the cap was not refused with 503: {other:?}"),
    }
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    while let Some(Ok(_)) = first.next().await {}
    eventually(10, "a closed socket frees its place", || async {
        tokio_tungstenite::connect_async(media_ws(&app).as_str())
            .await
            .is_ok()
    })
    .await;
    drop(open);
}

both_backends!(
    a_huge_duration_in_a_callback_closes_the_call_normally,
    a_callback_token_opens_its_own_call_only,
    a_media_token_opens_its_own_call_only,
);

/// The socket's limits touch no store: one backend is enough.
mod socket_limits {
    use crate::helpers::Backend::Sqlite;

    #[actix_rt::test]
    async fn a_socket_without_start_is_closed() {
        super::a_socket_without_start_is_closed(Sqlite).await
    }

    #[actix_rt::test]
    async fn oversized_frames_are_refused() {
        super::oversized_frames_are_refused(Sqlite).await
    }

    #[actix_rt::test]
    async fn open_sockets_are_capped() {
        super::open_sockets_are_capped(Sqlite).await
    }
}
