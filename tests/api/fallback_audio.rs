//! Fallback audio end to end: the playbooks' apology, "one moment" and time-up lines are
//! rendered through the (fake) TTS at start, kept on disk, and a later start loads them
//! without asking the TTS again; a damaged file is rendered again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use voice_runtime::call::fallback_audio::Readiness;
use voice_runtime::conversation::playbook::Playbook;
use voice_runtime::sandbox::exotel::Outcome;
use voice_runtime::sandbox::fakes::elevenlabs::FakeElevenLabs;

use crate::both_backends;
use crate::engine_support::{
    campaign, campaign_with_leads, engine_app, eventually, restart, simulator, start, EngineApp,
};
use crate::helpers::Backend;
use crate::live_support::live_app;

fn pcm_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "pcm"));
    files.sort();
    files
}

async fn fallback_lines_are_on_disk_after_start_and_loaded_without_the_tts(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let playbook = Playbook::load(Path::new("tests/fixtures/playbooks/test_short.yaml")).unwrap();
    // By default the cache sits beside the spool, in the node's data directory.
    let dir = live.e.app.dir().path().join("fallback_audio");
    let audio = &live.e.app.state.engine.fallback_audio;
    eventually(30, "the fallback lines are rendered", || async {
        audio.lines_for(&playbook, 8000).is_some()
    })
    .await;
    let lines = audio.lines("test_short", None, 8000).unwrap();
    assert_eq!(lines.apology.text, "Sorry, a problem. Bye!");
    assert_eq!(lines.one_moment.text, "One moment, please.");
    assert_eq!(lines.time_up.text, "Time is up, bye!");
    let files = pcm_files(&dir);
    assert_eq!(files.len(), 3, "one file per line at 8 kHz: {files:?}");
    assert_eq!(live.elevenlabs.requests(), 3);

    // The next start on the same data directory loads them, without the TTS.
    let vars = [
        ("ELEVENLABS_BASE_URL", live.elevenlabs.base_url.as_str()),
        ("ELEVENLABS_API_KEY", "xi-test"),
        ("PLAYBOOKS_DIR", "tests/fixtures/playbooks"),
    ];
    let second = restart(&live.e, &vars).await;
    assert!(
        second
            .app
            .state
            .engine
            .fallback_audio
            .lines_for(&playbook, 8000)
            .is_some(),
        "ready as soon as the node has started"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(live.elevenlabs.requests(), 3, "nothing rendered again");

    // A damaged file is ignored at the next start, and only that line is rendered again.
    std::fs::write(&files[0], b"not audio").unwrap();
    let third = restart(&live.e, &vars).await;
    let audio = &third.app.state.engine.fallback_audio;
    eventually(30, "the damaged line is rendered again", || async {
        audio.lines_for(&playbook, 8000).is_some()
    })
    .await;
    assert_eq!(live.elevenlabs.requests(), 4);
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
    assert_eq!(pcm_files(&dir).len(), 3);
}

/// A node whose fallback lines are not rendered (the fake ElevenLabs at `el`, with `key`), as
/// production dials: only once they are.
async fn node_without_lines(backend: Backend, el: &FakeElevenLabs, key: &str) -> EngineApp {
    let vars = [
        ("ELEVENLABS_BASE_URL", el.base_url.as_str()),
        ("ELEVENLABS_API_KEY", key),
        ("PLAYBOOKS_DIR", "tests/fixtures/playbooks"),
        ("FALLBACK_AUDIO_REQUIRED", "1"),
    ];
    engine_app(backend, simulator(10, 10), &vars).await
}

async fn one_lead(e: &EngineApp) -> i64 {
    let settings = json!({"playbook": "test_short", "max_attempts": 1});
    let id = campaign_with_leads(e, 1, settings, |_| vec![Outcome::Answer]).await;
    start(e, id).await;
    id
}

/// ElevenLabs is down when the node starts: nobody is called who could not be told "sorry"
/// if the TTS failed mid-call. When it is back, the lines render and the lead is dialed.
async fn no_dial_before_the_fallback_lines_are_rendered(backend: Backend) {
    let el = FakeElevenLabs::start(0).unwrap();
    el.knobs.fail_next(u32::MAX);
    let e = node_without_lines(backend, &el, "xi-test").await;
    let id = one_lead(&e).await;
    eventually(30, "the TTS failed twice", || async { el.requests() >= 2 }).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(e.sim.dials().is_empty(), "dialed without fallback lines");
    assert_eq!(campaign(&e, id).await["status"], "RUNNING");

    el.knobs.fail_next(0);
    let playbook = Playbook::load(Path::new("tests/fixtures/playbooks/test_short.yaml")).unwrap();
    let audio = &e.app.state.engine.fallback_audio;
    eventually(
        60,
        "the lines are rendered once the TTS is back",
        || async { audio.readiness(&playbook) == Readiness::Ready },
    )
    .await;
    // The campaign looks again every second.
    eventually(30, "the lead is dialed", || async {
        !e.sim.dials().is_empty()
    })
    .await;
    assert_eq!(e.sim.dials().len(), 1);
}

/// ElevenLabs refuses the key: asked once, not retried line after line, and the campaign
/// pauses saying which provider refused, with no one dialed.
async fn a_refused_tts_key_pauses_the_campaign_before_any_dial(backend: Backend) {
    let el = FakeElevenLabs::start(0).unwrap();
    let e = node_without_lines(backend, &el, "xi-revoked").await;
    let id = one_lead(&e).await;
    eventually(30, "the campaign pauses itself", || async {
        campaign(&e, id).await["status"] == "PAUSED"
    })
    .await;
    let c = campaign(&e, id).await;
    let reason = c["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("elevenlabs"), "{c}");
    assert!(!reason.contains("xi-revoked"), "the key is not shown: {c}");
    assert!(e.sim.dials().is_empty());
    assert_eq!(el.requests(), 1, "a refused key is asked once");
}

both_backends!(
    fallback_lines_are_on_disk_after_start_and_loaded_without_the_tts,
    no_dial_before_the_fallback_lines_are_rendered,
    a_refused_tts_key_pauses_the_campaign_before_any_dial,
);
