//! The chaos run: the provider fakes and the Exotel simulator in this process, the server a
//! real child process on loopback; a campaign driven through the public API, faults injected
//! as the plan says, the server killed and restarted, then the evidence gathered and judged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::fault_plan::{FaultPlan, FaultRates};
use super::invariants::{self, Evidence, LeadEnd, NumberRules, PlacedCall};
use super::report::{ChaosReport, FaultCounts};
use super::server_process::{ServerProcess, Wiring};
use super::windows;
use crate::api_client::Api;
use crate::config::CallingDays;
use crate::domain::LeadStatus;
use crate::sandbox::exotel::{
    CallbackFaults, DialReply, ExotelSimulator, SimulatorConfig, VoiceSetup,
};
use crate::sandbox::fakes::deepgram::FakeDeepgram;
use crate::sandbox::fakes::elevenlabs::FakeElevenLabs;
use crate::sandbox::fakes::openai::FakeOpenAi;
use crate::sandbox::persona::Persona;
use crate::scheduling::regulatory_hours::RegulatoryHours;
use crate::scheduling::CallingWindow;

/// The command's options.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub seed: u64,
    pub leads: usize,
    pub kills: usize,
    pub rates: FaultRates,
    /// PostgreSQL (or SQLite) to run on; a fresh SQLite file in a temp dir when `None`.
    pub database_url: Option<String>,
    /// Live calls at once (node and campaign).
    pub concurrency: u32,
    /// Hard limit: the run stops by itself after this long and reports what it has.
    pub timeout: Duration,
    /// The `voice-runtime` binary to run as the server; this executable when `None`.
    pub server_exe: Option<PathBuf>,
    pub quiet: bool,
}

impl Default for ChaosOptions {
    fn default() -> Self {
        ChaosOptions {
            seed: 1,
            leads: 200,
            kills: 2,
            rates: FaultRates::default(),
            database_url: None,
            concurrency: 20,
            timeout: Duration::from_secs(900),
            server_exe: None,
            quiet: false,
        }
    }
}

const MAX_ATTEMPTS: u32 = 3;
const ACCOUNT: (&str, &str, &str) = ("chaos", "chaos-key", "chaos-token");
const API_KEY: &str = "chaos-api-key";

pub async fn run(options: ChaosOptions) -> anyhow::Result<ChaosReport> {
    let started = Instant::now();
    let plan = FaultPlan::new(
        options.seed,
        options.leads,
        options.kills,
        options.concurrency as usize,
        options.rates,
    );
    let say = |line: String| {
        if !options.quiet {
            println!("{line}");
        }
    };
    let dir = std::env::temp_dir().join(format!(
        "voice-runtime-chaos-{}-{}",
        std::process::id(),
        options.seed
    ));
    std::fs::create_dir_all(&dir)?;
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("chaos.db").display()));
    let backend = if database_url.starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    };

    // The providers, with failures mid-call.
    let deepgram = FakeDeepgram::start(0).await?;
    let openai = FakeOpenAi::start(0)?;
    let elevenlabs = FakeElevenLabs::start(0)?;
    openai.knobs.failure_rate(plan.rates.provider);
    elevenlabs.knobs.failure_rate(plan.rates.provider);
    let stt_drops = tokio::spawn(drop_stt_streams(
        deepgram.knobs.clone(),
        plan.seed,
        plan.rates.provider,
    ));

    // Exotel, with unkind callbacks.
    let mut sim_config = SimulatorConfig::new(ACCOUNT.0, ACCOUNT.1, ACCOUNT.2);
    sim_config.calls_per_minute = None;
    sim_config.scenario.ring_time = Duration::from_millis(400);
    sim_config.scenario.talk_time = Duration::from_secs(1);
    sim_config.callback_faults = CallbackFaults::new(plan.seed, plan.rates.callbacks);
    let callback_faults = sim_config.callback_faults.clone();
    for lead in &plan.leads {
        sim_config
            .scenario
            .per_number
            .insert(lead.phone.clone(), lead.script.clone());
    }
    let sim = ExotelSimulator::start(sim_config)?;
    // A stall outlasts the server's request deadline (EXOTEL_TIMEOUT_SECONDS below).
    sim.random_replies(
        plan.rates.dial,
        plan.seed ^ 0xd1a1_fa17,
        Duration::from_secs(4),
    );

    // The server: a real process, on loopback only.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let secret = crate::config::random_token();
    let wiring = Wiring {
        port,
        database_url: &database_url,
        webhook_secret: &secret,
        api_key: API_KEY,
        node_id: "chaos-node",
        exotel: (&sim.base_url, ACCOUNT.0, ACCOUNT.1, ACCOUNT.2),
        fakes: (&deepgram.url, &openai.base_url, &elevenlabs.base_url),
    };
    let env = server_env(&wiring, options.concurrency);
    let exe = match &options.server_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe()?,
    };
    let log = dir.join("server.log");
    let mut server = ServerProcess::start(exe, env, port, log.clone()).await?;
    sim.set_voice(VoiceSetup {
        voicebot_url: format!("{base}/exotel/voicebot-url?token={secret}"),
        personas: plan
            .leads
            .iter()
            .filter_map(|l| Some((l.phone.clone(), vec![Persona::by_name(l.persona)?])))
            .collect(),
        default_persona: Persona::by_name("not_interested")
            .unwrap_or_else(|| Persona::new("nobody", vec![])),
        sample_rate: 8000,
        recordings_dir: None,
        time_limit: Duration::from_secs(60),
        measure: false,
    });
    say(format!(
        "chaos run · seed {} · {} leads · {backend} · server {base} (log {})",
        plan.seed,
        plan.leads.len(),
        log.display()
    ));

    // The campaigns, through the public API as an operator would.
    let api = Api::new(&base, Some(API_KEY.into()));
    let (open, shut) = windows::choose(Utc::now());
    let mut suppressed = Some(BTreeSet::new());
    for phone in &plan.suppressed_before_upload {
        suppress(&api, phone, &mut suppressed).await?;
    }
    let campaign = json_merge(
        json!({"name": format!("chaos seed {}", plan.seed), "max_concurrent_calls": options.concurrency,
            "max_attempts": MAX_ATTEMPTS, "retry_no_answer_minutes": 3, "retry_busy_minutes": 2}),
        open.json(),
    );
    let id = api.post("/campaigns", &campaign).await?["id"]
        .as_i64()
        .unwrap_or_default();
    api.upload(&format!("/campaigns/{id}/upload-csv"), &plan.leads_csv())
        .await?;
    for phone in &plan.suppressed_after_upload {
        suppress(&api, phone, &mut suppressed).await?;
    }
    let shut_campaign = json_merge(
        json!({"name": "chaos: window shut", "max_attempts": MAX_ATTEMPTS}),
        shut.json(),
    );
    let (shut_id, _) = api
        .launch(&shut_campaign, &plan.closed_window_csv())
        .await?;
    api.post(&format!("/campaigns/{id}/start"), &json!({}))
        .await?;

    // The run: kills at the planned dial counts, dial faults as dials go by, until the
    // campaign completes or the hard timeout strikes.
    let deadline = started + options.timeout;
    let mut kills = 0;
    let mut status = String::from("RUNNING");
    let mut last_progress = Instant::now();
    let mut last_poll = Instant::now();
    let timed_out = loop {
        // Woken by each accepted dial, so that a kill lands right after the simulator said
        // yes: often before the server has recorded the dial (the crash window).
        tokio::select! {
            _ = sim.dial_accepted() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        let dials = sim.dials().len();
        if let Some(&at) = plan.kill_after_dials.get(kills) {
            if dials >= at {
                server.kill();
                let down = plan.restart_after_ms.get(kills).copied().unwrap_or(500);
                kills += 1;
                say(format!(
                    "[{:>4}s] SIGKILL #{kills} after {dials} dials; restart in {down} ms",
                    started.elapsed().as_secs()
                ));
                tokio::time::sleep(Duration::from_millis(down)).await;
                server.restart().await?;
            }
        }
        if last_poll.elapsed() < Duration::from_millis(250) {
            continue;
        }
        last_poll = Instant::now();
        if let Ok(c) = api.get(&format!("/campaigns/{id}")).await {
            status = c["status"].as_str().unwrap_or("?").to_string();
            if last_progress.elapsed() >= Duration::from_secs(5) {
                last_progress = Instant::now();
                say(format!(
                    "[{:>4}s] {status} · done {}/{} · {dials} dials",
                    started.elapsed().as_secs(),
                    c["leads_completed"],
                    c["total_leads"]
                ));
            }
            if status == "COMPLETED" {
                break false;
            }
        }
        if Instant::now() >= deadline {
            say(format!(
                "[{:>4}s] hard timeout: stopping",
                started.elapsed().as_secs()
            ));
            break true;
        }
    };

    // The evidence: the database (through the API) and the simulator's own log.
    let campaign = api.get(&format!("/campaigns/{id}")).await?;
    let shut_campaign = api.get(&format!("/campaigns/{shut_id}")).await?;
    let leads = all_leads(&api, id).await?;
    let mut saved = BTreeSet::new();
    for cid in [id, shut_id] {
        let calls = api.get(&format!("/exports/calls/{cid}")).await?;
        for call in calls.as_array().into_iter().flatten() {
            if !call["final_outcome"].is_null() || !call["transcript"].is_null() {
                saved.extend(call["call_sid"].as_str().map(String::from));
            }
        }
    }
    let placed: Vec<PlacedCall> = sim
        .dials()
        .into_iter()
        .map(|d| PlacedCall {
            call_sid: d.call_sid,
            phone: d.from,
            at: d.at,
        })
        .collect();
    let reports = sim.reports();
    let answered: Vec<PlacedCall> = placed
        .iter()
        .filter(|c| reports.contains_key(&c.call_sid))
        .cloned()
        .collect();
    let mut rules = HashMap::new();
    let main_rules = number_rules(&campaign)?;
    for lead in &plan.leads {
        rules.insert(lead.phone.clone(), main_rules);
    }
    let shut_rules = number_rules(&shut_campaign)?;
    for phone in &plan.closed_window_leads {
        rules.insert(phone.clone(), shut_rules);
    }
    let mut leads_by_status = BTreeMap::new();
    for lead in &leads {
        *leads_by_status.entry(lead.status.to_string()).or_default() += 1;
    }
    let suppressed = match suppressed {
        Some(_) => Some(suppression_list(&api).await?),
        None => None,
    };
    let evidence = Evidence {
        leads,
        placed,
        answered,
        saved,
        rules,
        suppressed,
    };
    let verdicts = invariants::check(&evidence);

    stt_drops.abort();
    drop(server);
    sim.stop().await;
    if options.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ChaosReport {
        seed: plan.seed,
        backend: backend.into(),
        leads: plan.leads.len(),
        elapsed: started.elapsed(),
        timed_out,
        campaign_status: status,
        leads_by_status,
        dials: evidence.placed.len(),
        answered: evidence.answered.len(),
        saved_conversations: evidence.saved.len(),
        faults: FaultCounts {
            dial: dial_fault_counts(&sim),
            callbacks: callback_faults.counts(),
            provider: deepgram.knobs.injected()
                + openai.knobs.injected()
                + elevenlabs.knobs.injected(),
            kills,
        },
        verdicts,
    })
}

/// The server's tuning: retries in seconds, and claims reconciled after 10 s so that a crash
/// settles within the run.
fn server_env(wiring: &Wiring, concurrency: u32) -> Vec<(String, String)> {
    let concurrency = concurrency.to_string();
    wiring.env(&[
        ("MAX_CONCURRENT_CALLS", &concurrency),
        ("MAX_CALL_DURATION_MINUTES", "1"),
        ("RETRY_MINUTE_SECONDS", "1"),
        ("SCHEDULER_POLL_SECONDS", "1"),
        ("RECONCILE_AFTER_SECONDS", "10"),
        ("EXOTEL_CONNECT_MODE", "flow"),
        ("EXOTEL_CALLS_PER_MINUTE", "6000"),
        ("EXOTEL_RING_TIMEOUT_SECONDS", "5"),
        // Dials in doubt are looked up in Exotel's call list after 3 s, not a minute.
        ("EXOTEL_TIMEOUT_SECONDS", "2"),
        ("EXOTEL_SETTLE_SECONDS", "3"),
    ])
}

/// Puts a number on the suppression list; a server without the list (404) turns the check off.
async fn suppress(
    api: &Api,
    phone: &str,
    accepted: &mut Option<BTreeSet<String>>,
) -> anyhow::Result<()> {
    let Some(set) = accepted.as_mut() else {
        return Ok(());
    };
    let body = json!({"phone": phone, "reason": "chaos run: asked not to be called"});
    match api.post_for_status("/suppressions", &body).await? {
        (200..=299, _) => {
            set.insert(phone.to_string());
        }
        (404 | 405, _) => *accepted = None,
        (status, body) => anyhow::bail!("POST /suppressions: {status} {body}"),
    }
    Ok(())
}

/// The whole suppression list: each number and when it was listed.
async fn suppression_list(api: &Api) -> anyhow::Result<BTreeMap<String, DateTime<Utc>>> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = api
            .get(&format!("/suppressions?limit=1000&offset={offset}"))
            .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Ok(out);
        }
        offset += items.len();
        for entry in items {
            let phone = entry["phone"].as_str().unwrap_or("").to_string();
            let listed = entry["created_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .ok_or_else(|| anyhow::anyhow!("suppression entry without created_at"))?;
            out.insert(phone, listed.with_timezone(&Utc));
        }
    }
}

/// Every lead of a campaign, page by page.
async fn all_leads(api: &Api, id: i64) -> anyhow::Result<Vec<LeadEnd>> {
    let mut out = Vec::new();
    loop {
        let page = api
            .get(&format!(
                "/campaigns/{id}/leads?limit=1000&offset={}",
                out.len()
            ))
            .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Ok(out);
        }
        for l in items {
            let status = l["status"].as_str().unwrap_or("");
            out.push(LeadEnd {
                id: l["id"].as_i64().unwrap_or_default(),
                phone: l["phone"].as_str().unwrap_or("").to_string(),
                status: LeadStatus::parse(status)
                    .ok_or_else(|| anyhow::anyhow!("unknown lead status {status:?}"))?,
            });
        }
    }
}

/// A campaign's window and attempt limit, as the database has them.
fn number_rules(campaign: &Value) -> anyhow::Result<NumberRules> {
    let hour = |k: &str| campaign[k].as_u64().map(|h| h as u32);
    let timezone = campaign["timezone"].as_str().unwrap_or("");
    Ok(NumberRules {
        window: CallingWindow {
            start_hour: hour("calling_hours_start")
                .ok_or_else(|| anyhow::anyhow!("campaign without calling_hours_start"))?,
            end_hour: hour("calling_hours_end")
                .ok_or_else(|| anyhow::anyhow!("campaign without calling_hours_end"))?,
            timezone: timezone
                .parse()
                .map_err(|_| anyhow::anyhow!("campaign time zone {timezone:?}"))?,
            days: CallingDays::parse(campaign["calling_days"].as_str().unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("campaign calling_days: {e}"))?,
            // The server's default REGULATORY_HOURS (the run does not set it), unless the
            // campaign is transactional.
            floor: (campaign["transactional"] != true).then_some(RegulatoryHours::INDIA),
        },
        max_attempts: campaign["max_attempts"]
            .as_u64()
            .map(|n| n as u32)
            .unwrap_or(MAX_ATTEMPTS),
    })
}

fn json_merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Deepgram streams dropped mid-call: every 2 s, a seeded coin arms the fake to drop the next
/// stream it serves after 1.5 s of audio.
async fn drop_stt_streams(knobs: crate::sandbox::fakes::Knobs, seed: u64, rate: f64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5717_d20b);
    let p = (rate * 10.0).clamp(0.0, 1.0);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if p > 0.0 && rng.gen_bool(p) {
            knobs.drop_after(1500);
        }
    }
}

/// The simulator's unkind replies to connect requests, by kind, from its own request log.
fn dial_fault_counts(sim: &ExotelSimulator) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for request in sim.requests() {
        let kind = match request.reply {
            DialReply::Normal => continue,
            DialReply::CutBody => "cut 200 (placed)",
            DialReply::Stall => "timeout (placed)",
            DialReply::BadGatewayPlaced => "502 (placed)",
            DialReply::BadGatewayNotPlaced => "502 (not placed)",
            DialReply::TooManyRequests => "429 (not placed)",
        };
        *counts.entry(kind.to_string()).or_default() += 1;
    }
    counts
}
