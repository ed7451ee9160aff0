//! The chaos run, short (CI): seeded, 35 leads, one SIGKILL of the real server, every kind of
//! fault at its default rate, on both databases. No invariant may break.

use std::time::Duration;

use voice_runtime::chaos::{ChaosOptions, FaultRates};

use crate::helpers::{fresh_database_url, Backend};

async fn chaos_run_breaks_no_invariant(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match backend {
        // The run makes (and removes) its own SQLite file.
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database_url(backend, &dir).await),
    };
    let options = ChaosOptions {
        seed: 9,
        leads: 35,
        kills: 1,
        rates: FaultRates::default(),
        database_url,
        concurrency: 12,
        // A bound, not a figure: the run stops by itself and its report says what was left.
        timeout: Duration::from_secs(240),
        server_exe: Some(env!("CARGO_BIN_EXE_voice-runtime").into()),
        quiet: true,
    };
    let report = voice_runtime::chaos::run(options)
        .await
        .expect("the chaos run runs");
    let text = report.render();
    println!("{text}");
    assert_eq!(report.faults.kills, 1, "{text}");
    assert!(report.dials > 0 && report.answered > 0, "{text}");
    assert_eq!(report.violations(), 0, "{text}");
}

crate::both_backends!(chaos_run_breaks_no_invariant);
