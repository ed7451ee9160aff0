//! `voice-runtime bench-scheduler`: the campaign engine's throughput, claims and dials per
//! second, against the Exotel simulator with the pacing limit lifted.
//!
//! Every simulated call is answered at once and ends at once, so the figure is the runtime's
//! own: scheduling rounds, atomic claims, Exotel requests, webhook processing and bookkeeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api_client::Api;
use crate::config::Settings;
use crate::sandbox::exotel::{ExotelSimulator, SimulatorConfig};
use crate::startup::Application;

pub async fn run(leads: usize, concurrency: u32, database_url: Option<&str>) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let default_db = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let db = database_url.unwrap_or(&default_db).to_string();

    let mut sim_config = SimulatorConfig::new("bench", "bench-key", "bench-token");
    sim_config.calls_per_minute = None;
    sim_config.scenario.ring_time = Duration::ZERO;
    sim_config.scenario.talk_time = Duration::ZERO;
    let sim = ExotelSimulator::start(sim_config)?;

    let mut vars: HashMap<String, String> = std::env::vars().collect();
    for (k, v) in [
        ("DATABASE_URL", db.as_str()),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("API_KEY", "bench"),
        ("EXOTEL_ACCOUNT_SID", "bench"),
        ("EXOTEL_API_KEY", "bench-key"),
        ("EXOTEL_API_TOKEN", "bench-token"),
        ("EXOTEL_VIRTUAL_NUMBER", "+918000000000"),
        ("EXOTEL_EXOPHLO_ID", "1"),
        ("EXOTEL_BASE_URL", sim.base_url.as_str()),
        ("EXOTEL_CALLS_PER_MINUTE", "100000"),
        ("CALLING_DAYS", "Mon-Sun"),
        ("CALLING_HOURS_START", "0"),
        ("CALLING_HOURS_END", "24"),
        // Only the simulator is dialed: lift the regulatory floor with the window.
        ("REGULATORY_HOURS", "0-24"),
        // Calls here never reach a conversation, but starting a campaign needs the keys set.
        ("DEEPGRAM_API_KEY", "unused"),
        ("OPENAI_API_KEY", "unused"),
        ("ELEVENLABS_API_KEY", "unused"),
        // The fallback lines rendered at start must not reach the real ElevenLabs.
        ("ELEVENLABS_BASE_URL", "http://127.0.0.1:9"),
        // So the dials do not wait for fallback lines that can never be rendered.
        ("FALLBACK_AUDIO_REQUIRED", "0"),
    ] {
        vars.insert(k.into(), v.into());
    }
    vars.insert("MAX_CONCURRENT_CALLS".into(), concurrency.to_string());
    let settings = Settings::from_map(&vars)?;
    let backend = settings.database_url.redacted();
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());

    let api = Api::new(&base, Some("bench".into()));
    let mut csv = String::from("name,phone\n");
    for i in 0..leads {
        csv.push_str(&format!("Lead {i},+9170{:08}\n", i));
    }
    let body = serde_json::json!({"name": "scheduler bench", "max_concurrent_calls": concurrency});
    let id = api.post("/campaigns", &body).await?["id"]
        .as_i64()
        .unwrap_or_default();
    api.upload(&format!("/campaigns/{id}/upload-csv"), &csv)
        .await?;
    // Timed from the start request: the import is bench-import's business.
    let started = Instant::now();
    api.post(&format!("/campaigns/{id}/start"), &serde_json::json!({}))
        .await?;
    let mut all_dialed = None;
    let completed = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if all_dialed.is_none() && sim.dials().len() >= leads {
            all_dialed = Some(started.elapsed());
        }
        let c = api.get(&format!("/campaigns/{id}")).await?;
        if c["status"] == "COMPLETED" {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("the campaign did not complete in 10 minutes");
        }
    };
    let dialed = all_dialed.unwrap_or(completed);
    println!("backend          {backend}");
    println!("leads            {leads}   concurrency cap {concurrency}   pacing lifted");
    println!(
        "dials            {}   (max live at once {})",
        sim.dials().len(),
        sim.max_concurrent()
    );
    println!(
        "all dialed in    {:.2} s   → {:.0} claims+dials/s",
        dialed.as_secs_f64(),
        leads as f64 / dialed.as_secs_f64()
    );
    println!(
        "completed in     {:.2} s   → {:.0} calls/s end to end (dial, callbacks, close)",
        completed.as_secs_f64(),
        leads as f64 / completed.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("voice-runtime-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
