//! Every actor of a call stops when the call ends, failures or not: after N calls with an STT
//! drop, an LLM 500 and a TTS failure injected, `voice_actors{kind}` for stt/llm/tts/socket
//! returns to 0 and no fake provider stream is left open. (The `call` kind is counted by the
//! CallActor.)
//!
//! The gauges are process-wide, so this test counts on being the only live-call test running
//! when it is filtered alone; run with other live-call tests it waits for theirs to end too
//! (the bound is generous).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::sandbox::exotel::{Outcome, VoiceSetup};
use voice_runtime::telemetry_metrics::{live_actors, ActorKind};

use crate::engine_support::{campaign_with_leads, eventually, start};
use crate::helpers::Backend;
use crate::live_support::*;

const CALLS: usize = 4;

async fn saved_calls(live: &LiveApp, campaign_id: i64) -> usize {
    let Ok(response) = live
        .e
        .app
        .get(&format!("/exports/calls/{campaign_id}"))
        .send()
        .await
    else {
        return 0;
    };
    let calls: Vec<Value> = response.json().await.unwrap_or_default();
    calls
        .iter()
        .filter(|c| c["final_outcome"].is_string())
        .count()
}

fn gauge(metrics: &str, kind: &str) -> Option<f64> {
    let needle = format!("voice_actors{{kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&needle))
        .and_then(|v| v.trim().parse().ok())
}

async fn every_child_stops_after_calls_with_failures(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.e.sim.set_voice(VoiceSetup {
        voicebot_url: live.e.app.url("/exotel/voicebot-url?token=test-secret"),
        personas: HashMap::new(),
        default_persona: interested(),
        sample_rate: live.sample_rate,
        recordings_dir: None,
        time_limit: Duration::from_secs(90),
        measure: false,
    });
    // One of each failure, taken by whichever call meets it first.
    live.deepgram.knobs.drop_after(1500);
    live.openai.knobs.fail_next(1);
    live.elevenlabs.knobs.fail_next(1);
    let id = campaign_with_leads(
        &live.e,
        CALLS,
        json!({"playbook": "test_short", "max_attempts": 1}),
        |_| vec![Outcome::Answer],
    )
    .await;
    start(&live.e, id).await;
    eventually(180, "every call is saved", || async {
        saved_calls(&live, id).await == CALLS
    })
    .await;
    let injected = live.deepgram.knobs.injected()
        + live.openai.knobs.injected()
        + live.elevenlabs.knobs.injected();
    assert_eq!(injected, 3, "every failure was injected");

    let kinds = [
        ActorKind::Stt,
        ActorKind::Llm,
        ActorKind::Tts,
        ActorKind::Socket,
    ];
    eventually(60, "every call's actors stop", || async {
        kinds.iter().all(|k| live_actors(*k) == 0)
    })
    .await;
    eventually(30, "no provider stream is left open", || async {
        live.deepgram.knobs.open_streams() == 0
            && live.openai.knobs.open_streams() == 0
            && live.elevenlabs.knobs.open_streams() == 0
    })
    .await;
    // …and stays so: no reconnect scheduled before the end opens a stream afterwards.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        live.deepgram.knobs.open_streams(),
        0,
        "an STT stream reopened"
    );
    for k in kinds {
        assert_eq!(live_actors(k), 0, "{k:?} came back");
    }
    // The gauges as Prometheus shows them.
    let metrics = live
        .e
        .app
        .client
        .get(live.e.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for kind in ["stt", "llm", "tts", "socket"] {
        assert_eq!(
            gauge(&metrics, kind),
            Some(0.0),
            "voice_actors{{kind={kind}}}"
        );
    }
}

/// One backend only: the gauges are process-wide, and two copies of this test running side by
/// side would each see the other's calls (the lifecycle does not depend on the database).
#[actix_rt::test]
async fn every_child_stops_after_calls_with_failures_sqlite() {
    every_child_stops_after_calls_with_failures(Backend::Sqlite).await;
    crate::helpers::stop_apps().await;
}
