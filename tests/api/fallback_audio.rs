//! Fallback audio end to end: the playbooks' apology, "one moment" and time-up lines are
//! rendered through the (fake) TTS at start, kept on disk, and a later start loads them
//! without asking the TTS again; a damaged file is rendered again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use voice_runtime::conversation::playbook::Playbook;

use crate::both_backends;
use crate::engine_support::{eventually, restart};
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

both_backends!(fallback_lines_are_on_disk_after_start_and_loaded_without_the_tts);
