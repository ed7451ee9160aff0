//! One conversation per call: a second media socket for a call that is live or has ended is
//! refused with 1008 and starts nothing.

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use voice_runtime::sandbox::exotel::Outcome;

use crate::both_backends;
use crate::engine_support::{campaign_with_leads, eventually, start};
use crate::helpers::Backend;
use crate::live_support::{live_app, LiveApp};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/media` as Exotel would and sends `start` for `sid`.
pub async fn open_media(live: &LiveApp, sid: &str) -> Socket {
    let ws = live
        .e
        .app
        .url("/media?token=test-secret")
        .replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(ws.as_str()).await.unwrap();
    let start = json!({"event": "start", "start": {"streamSid": format!("S-{sid}"), "callSid": sid,
        "media_format": {"sample_rate": 8000}}});
    socket
        .send(Message::Text(start.to_string().into()))
        .await
        .unwrap();
    socket
}

/// The close code the server ends a socket with (None: it closed without one).
async fn close_code(mut socket: Socket) -> Option<u16> {
    while let Some(Ok(msg)) = socket.next().await {
        if let Message::Close(frame) = msg {
            return frame.map(|f| u16::from(f.code));
        }
    }
    None
}

/// A call placed and held ringing, so that the test plays Exotel's media side itself.
pub async fn held_call(live: &LiveApp) -> (i64, String) {
    let id = campaign_with_leads(&live.e, 1, json!({"playbook": "test_short"}), |_| {
        vec![Outcome::Hold]
    })
    .await;
    start(&live.e, id).await;
    eventually(10, "the call is placed", || async {
        !live.e.sim.dials().is_empty()
    })
    .await;
    (id, live.e.sim.dials()[0].call_sid.clone())
}

pub async fn until_conversation_runs(live: &LiveApp, sid: &str) {
    eventually(20, "the conversation runs", || async {
        live.e
            .app
            .state
            .engine
            .registry
            .lookup(sid)
            .is_some_and(|c| c.actor.is_some())
    })
    .await;
}

async fn a_second_socket_for_a_live_or_ended_call_is_refused(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let (id, sid) = held_call(&live).await;
    let mut first = open_media(&live, &sid).await;
    until_conversation_runs(&live, &sid).await;
    eventually(10, "the first STT stream", || async {
        live.deepgram.open_streams() == 1
    })
    .await;

    // While the call is live: refused, and no second conversation (no second STT stream).
    let second = open_media(&live, &sid).await;
    assert_eq!(close_code(second).await, Some(1008));
    assert_eq!(live.deepgram.open_streams(), 1);

    // The call ends and is saved.
    let stop = json!({"event": "stop", "stream_sid": format!("S-{sid}")});
    first
        .send(Message::Text(stop.to_string().into()))
        .await
        .unwrap();
    eventually(30, "the conversation is saved", || async {
        live.conversation(id).await.is_some()
    })
    .await;
    let lead_after_call = crate::engine_support::leads(&live.e, id).await[0].clone();
    assert_eq!(lead_after_call["status"], "COMPLETED", "{lead_after_call}");

    // A replay of the ended call's socket: refused, and the finished lead stays finished.
    let replay = open_media(&live, &sid).await;
    assert_eq!(close_code(replay).await, Some(1008));
    assert!(live.e.app.state.engine.registry.lookup(&sid).is_none());
    let lead = crate::engine_support::leads(&live.e, id).await[0].clone();
    assert_eq!(lead, lead_after_call);
    let calls: Vec<serde_json::Value> = live
        .e
        .app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
}

both_backends!(a_second_socket_for_a_live_or_ended_call_is_refused);
