//! `voice-runtime bench-scheduler`: the campaign engine's throughput, claims and dials per
//! second, against the Exotel simulator with the pacing limit lifted.
//!
//! Every simulated call is answered at once and ends at once, so the figure is the runtime's
//! own: scheduling rounds, atomic claims, Exotel requests, webhook processing and bookkeeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    ] {
        vars.insert(k.into(), v.into());
    }
    vars.insert("MAX_CONCURRENT_CALLS".into(), concurrency.to_string());
    let settings = Settings::from_map(&vars)?;
    let backend = settings.database_url.redacted();
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let campaign: serde_json::Value = client
        .post(format!("{base}/campaigns"))
        .bearer_auth("bench")
        .json(&serde_json::json!({"name": "scheduler bench", "max_concurrent_calls": concurrency}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = campaign["id"].as_i64().unwrap_or_default();
    let mut csv = String::from("name,phone\n");
    for i in 0..leads {
        csv.push_str(&format!("Lead {i},+9170{:08}\n", i));
    }
    client
        .post(format!("{base}/campaigns/{id}/upload-csv"))
        .bearer_auth("bench")
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await?
        .error_for_status()?;

    let started = Instant::now();
    client
        .post(format!("{base}/campaigns/{id}/start"))
        .bearer_auth("bench")
        .send()
        .await?
        .error_for_status()?;
    let mut all_dialed = None;
    let completed = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if all_dialed.is_none() && sim.dials().len() >= leads {
            all_dialed = Some(started.elapsed());
        }
        let c: serde_json::Value = client
            .get(format!("{base}/campaigns/{id}"))
            .bearer_auth("bench")
            .send()
            .await?
            .json()
            .await?;
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
