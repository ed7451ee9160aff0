//! Shared set-up for campaign-engine tests: a simulated Exotel, a manual clock inside calling
//! hours, and an app wired to both.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use voice_runtime::actors::campaign_supervisor::WakeAll;
use voice_runtime::clock::{Clock, ManualClock};
use voice_runtime::domain::CampaignStatus;
use voice_runtime::sandbox::exotel::{ExotelSimulator, Outcome, SimulatorConfig};
use voice_runtime::telephony::call_outcome::calling_window;

use crate::helpers::{spawn_app_on, spawn_app_with_clock, Backend, TestApp};

/// Thursday 2026-11-26 11:00 IST: inside the default window.
pub fn weekday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T05:30:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn simulator(ring_ms: u64, talk_ms: u64) -> ExotelSimulator {
    let mut config = SimulatorConfig::new("sim-account", "sim-key", "sim-token");
    config.scenario.ring_time = Duration::from_millis(ring_ms);
    config.scenario.talk_time = Duration::from_millis(talk_ms);
    config.calls_per_minute = None;
    ExotelSimulator::start(config).expect("simulator starts")
}

pub fn exotel_vars(sim: &ExotelSimulator) -> Vec<(String, String)> {
    vec![
        ("EXOTEL_ACCOUNT_SID".into(), "sim-account".into()),
        ("EXOTEL_API_KEY".into(), "sim-key".into()),
        ("EXOTEL_API_TOKEN".into(), "sim-token".into()),
        ("EXOTEL_VIRTUAL_NUMBER".into(), "+918000000000".into()),
        ("EXOTEL_EXOPHLO_ID".into(), "424242".into()),
        ("EXOTEL_BASE_URL".into(), sim.base_url.clone()),
        ("EXOTEL_CALLS_PER_MINUTE".into(), "100000".into()),
        ("SCHEDULER_POLL_SECONDS".into(), "1".into()),
        ("DEEPGRAM_API_KEY".into(), "unused".into()),
        ("OPENAI_API_KEY".into(), "unused".into()),
        ("ELEVENLABS_API_KEY".into(), "unused".into()),
        // Nothing here may reach the internet: the fallback lines rendered at start, and the
        // provider pools warmed at start, fail fast on a closed local port.
        ("ELEVENLABS_BASE_URL".into(), "http://127.0.0.1:9".into()),
        ("OPENAI_BASE_URL".into(), "http://127.0.0.1:9".into()),
        // These calls never speak: dial without the fallback lines.
        ("FALLBACK_AUDIO_REQUIRED".into(), "0".into()),
    ]
}

pub struct EngineApp {
    pub app: TestApp,
    pub sim: ExotelSimulator,
    pub clock: Arc<ManualClock>,
}

pub async fn engine_app(
    backend: Backend,
    sim: ExotelSimulator,
    extra: &[(&str, &str)],
) -> EngineApp {
    let clock = Arc::new(ManualClock::new(weekday_morning()));
    sim.use_clock(clock.clone());
    let vars = merged(&sim, extra);
    let borrowed: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_with_clock(backend, &borrowed, clock.clone()).await;
    EngineApp { app, sim, clock }
}

/// The same database and simulator, a new process.
pub async fn restart(old: &EngineApp, extra: &[(&str, &str)]) -> EngineApp {
    let vars = merged(&old.sim, extra);
    let borrowed: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_on(
        &old.app.database_url,
        old.app.dir(),
        &borrowed,
        old.clock.clone(),
    )
    .await;
    EngineApp {
        app,
        sim: old.sim.clone(),
        clock: old.clock.clone(),
    }
}

fn merged(sim: &ExotelSimulator, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars: HashMap<String, String> = exotel_vars(sim).into_iter().collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    vars.into_iter().collect()
}

/// National numbers 9000000000, 9000000001, … as E.164.
pub fn phone(i: usize) -> String {
    format!("+9190000{:05}", i)
}

/// Creates a campaign with `n` leads and per-lead scripts; returns its id.
pub async fn campaign_with_leads(
    e: &EngineApp,
    n: usize,
    settings: Value,
    script: impl Fn(usize) -> Vec<Outcome>,
) -> i64 {
    let mut body = json!({"name": "engine test"});
    if let (Some(b), Some(s)) = (body.as_object_mut(), settings.as_object()) {
        b.extend(s.clone());
    }
    let id = e.app.create_campaign(body).await["id"].as_i64().unwrap();
    let mut csv = String::from("name,phone\n");
    for i in 0..n {
        csv.push_str(&format!("Lead {i},{}\n", phone(i)));
        e.sim.script(&phone(i), script(i));
    }
    let (status, report) = e.app.upload_csv(id, &csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accepted"], n);
    id
}

pub async fn start(e: &EngineApp, id: i64) -> Value {
    let response = e
        .app
        .post(&format!("/campaigns/{id}/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub async fn campaign(e: &EngineApp, id: i64) -> Value {
    e.app
        .get(&format!("/campaigns/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn leads(e: &EngineApp, id: i64) -> Vec<Value> {
    let page: Value = e
        .app
        .get(&format!("/campaigns/{id}/leads?limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Polls `check` until it holds, for at most `seconds` of real time.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Drives a campaign to its end: whenever nothing is in flight or due, moves the clock past
/// the next retry (and through nights and Sundays) and wakes the scheduler.
pub async fn run_to_completion(e: &EngineApp, id: i64) {
    let store = &e.app.state.store;
    for _ in 0..80 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let c = store.campaign(id).await.unwrap();
            if c.status == CampaignStatus::Completed {
                return;
            }
            let now = e.clock.now();
            let in_flight = store.in_flight_attempts(id).await.unwrap();
            let (_, due) = store.pending_summary(id, now).await.unwrap();
            let floor = e.app.state.settings.calling.regulatory_hours;
            let waiting = due > 0 && calling_window(&c, floor).is_ok_and(|w| w.is_open(now));
            if in_flight.is_empty() && !waiting && e.sim.live_calls() == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "campaign {id} made no progress: {c:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        e.clock.advance(chrono::Duration::hours(5));
        e.app.state.campaigns.do_send(WakeAll);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let actors: Value = e
        .app
        .get("/debug/actors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = store.campaign(id).await.unwrap();
    panic!("campaign {id} did not complete: {c:?}\n{actors}");
}

/// How many times each number was dialed.
pub fn dials_per_number(sim: &ExotelSimulator) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for d in sim.dials() {
        *counts.entry(d.from).or_insert(0) += 1;
    }
    counts
}
