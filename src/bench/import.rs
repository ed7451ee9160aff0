//! `voice-runtime bench-import`: the time to import a large lead list through the real API.
//!
//! Starts the application on a loopback port with the chosen database, creates a campaign,
//! uploads a generated CSV of N rows (messy on purpose: mixed phone spellings, quoted fields,
//! extra columns, some broken rows) and prints the figures.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use crate::api_client::Api;
use crate::config::Settings;
use crate::startup::Application;

pub async fn run(rows: usize, database_url: Option<&str>) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("voice-runtime-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let default_db = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let db = database_url.unwrap_or(&default_db).to_string();

    let mut vars: HashMap<String, String> = std::env::vars().collect();
    vars.insert("DATABASE_URL".into(), db.clone());
    vars.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    vars.insert("API_KEY".into(), "bench".into());
    let settings = Settings::from_map(&vars)?;
    let backend = settings.database_url.redacted();
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());

    let csv = generate_csv(rows);
    let api = Api::new(&base, Some("bench".into()));
    let body = serde_json::json!({"name": format!("bench {rows} rows")});
    let id = api.post("/campaigns", &body).await?["id"]
        .as_i64()
        .unwrap_or_default();

    let started = Instant::now();
    let report = api
        .upload(&format!("/campaigns/{id}/upload-csv"), &csv)
        .await?;
    let elapsed = started.elapsed();

    println!("backend        {backend}");
    println!(
        "rows           {rows} ({:.1} MiB)",
        csv.len() as f64 / 1048576.0
    );
    println!(
        "accepted       {}  rejected {}  duplicates {}",
        report["accepted"], report["rejected_count"], report["duplicates"]
    );
    println!("import time    {:.2} s", elapsed.as_secs_f64());
    println!(
        "rate           {:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A lead list in the shapes real exports take; every 100th row is broken on purpose and every
/// 250th repeats an earlier number in another spelling.
fn generate_csv(rows: usize) -> String {
    let mut csv = String::with_capacity(rows * 96);
    csv.push_str("Name,Phone Number,Email,Property Type,Location,Budget,Source\r\n");
    for i in 0..rows {
        let national = 7_000_000_000u64 + i as u64;
        let phone = match i % 4 {
            0 => format!("+91 {national}"),
            1 => format!("0{national}"),
            2 => format!("{}-{:05}", national / 100_000, national % 100_000),
            _ => format!("91{national}"),
        };
        let phone = if i % 100 == 99 {
            "12345".to_string()
        } else {
            phone
        };
        let phone = if i % 250 == 249 {
            format!("0{}", national - 7)
        } else {
            phone
        };
        let _ = write!(
            csv,
            "\"Lead {i}, Jr\",{phone},lead{i}@example.com,2BHK,\"Pune, Baner\",{}L,web\r\n",
            50 + i % 100
        );
    }
    csv
}
