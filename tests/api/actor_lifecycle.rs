//! Every actor of a call stops when the call ends, failures or not: after N calls with an STT
//! drop, an LLM 500 and a TTS failing mid-call injected, `voice_actors{kind}` for
//! call/stt/llm/tts/socket returns to 0 and no fake provider stream is left open.
//!
//! The server is the real binary in its own process: the gauges are process-wide, so an
//! in-process app would also count the actors of other tests running beside it.

use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::helpers::Backend;
use crate::live_support::interested;
use crate::process_support::*;

const CALLS: usize = 4;
const KINDS: [&str; 5] = ["call", "stt", "llm", "tts", "socket"];

/// `voice_actors{kind=…}` as the server's `/metrics` shows them.
async fn gauges(w: &World, server: &Server) -> Vec<(&'static str, Option<f64>)> {
    let metrics = w.metrics(server).await;
    KINDS
        .iter()
        .map(|kind| {
            let series = format!("voice_actors{{kind=\"{kind}\"}}");
            (*kind, metric_in(&metrics, &series))
        })
        .collect()
}

async fn all_zero(w: &World, server: &Server) -> bool {
    gauges(w, server).await.iter().all(|(_, v)| *v == Some(0.0))
}

fn open_streams(w: &World) -> usize {
    w.deepgram().open_streams()
        + w.openai().knobs.open_streams()
        + w.elevenlabs().knobs.open_streams()
}

async fn every_child_stops_after_calls_with_failures(backend: Backend) {
    let w = world(backend).await;
    let server = w
        .serve(&[("LOG_FORMAT", "json"), ("RUST_LOG", "warn")])
        .await;
    w.talk_with(&server, interested());
    // One STT drop and one LLM 500, taken by whichever call meets them first. The TTS fails
    // on every call's budget question (not on the greeting, rendered while the phone rings,
    // nor on the fallback lines): each call meets the failure, its retry, and gives up with
    // the apology. (A hang would hold the fake's stream open for its whole minute after we
    // drop it: the fake only notices a closed connection when it next writes.)
    w.deepgram().knobs.drop_after(1500);
    w.openai().knobs.fail_next(1);
    w.elevenlabs().knobs.fail_texts_containing("budget?");
    let id = w
        .campaign(
            &server,
            CALLS,
            json!({"max_attempts": 1, "max_concurrent_calls": 2}),
        )
        .await;
    // While a call is live its actors are counted (so the zeros below mean something).
    crate::engine_support::eventually(60, "a call's actors are counted", || async {
        gauges(&w, &server)
            .await
            .iter()
            .all(|(_, v)| v.is_some_and(|n| n >= 1.0))
    })
    .await;
    crate::engine_support::eventually(180, "every call is saved", || async {
        w.conversations(&server, id).await.len() == CALLS
    })
    .await;
    assert_eq!(
        w.deepgram().knobs.injected(),
        1,
        "the STT drop was injected"
    );
    assert_eq!(w.openai().knobs.injected(), 1, "the LLM 500 was injected");
    assert!(
        w.elevenlabs().knobs.injected() >= CALLS as u64,
        "every call met the failing TTS: {}",
        w.elevenlabs().knobs.injected()
    );
    let metrics = w.metrics(&server).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("voice_actor_restarts_total{child=\"tts\"}")),
        "the failing TTS restarted its actor"
    );

    children_log_their_call_sid(&server);

    crate::engine_support::eventually(60, "every call's actors stop", || async {
        all_zero(&w, &server).await
    })
    .await;
    crate::engine_support::eventually(30, "no provider stream is left open", || async {
        open_streams(&w) == 0
    })
    .await;
    // …and stays so: no reconnect scheduled before the end opens a stream afterwards.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(open_streams(&w), 0, "a provider stream reopened");
    let now = gauges(&w, &server).await;
    assert!(
        now.iter().all(|(_, v)| *v == Some(0.0)),
        "actors came back: {now:?}"
    );
}

/// The children's warnings (the injected failures) carry the call's `call_sid`: they log
/// inside the call's span.
fn children_log_their_call_sid(server: &Server) {
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let children = ["stt_actor", "llm_actor", "tts_actor"];
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| children.iter().any(|c| l.contains(&format!("call::{c}\""))))
        .collect();
    assert!(
        lines.len() >= 2,
        "the injected failures were logged by the children: {log}"
    );
    for line in lines {
        assert!(line.contains("\"call_sid\":\""), "no call_sid: {line}");
    }
}

both_backends!(every_child_stops_after_calls_with_failures);
