//! `voice-runtime sandbox`: the whole product offline, through the same code paths production
//! uses. Starts the provider fakes and the Exotel simulator on loopback, the server on an
//! embedded SQLite file, then — through the public REST API, as an operator would — creates a
//! campaign from a leads CSV, starts it, shows live progress and prints a summary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::exotel::media_client::{CallReport, Wait, WaitCause};
use super::exotel::{ExotelSimulator, HandoffFlow, Outcome, SimulatorConfig, VoiceSetup};
use super::fakes::deepgram::FakeDeepgram;
use super::fakes::elevenlabs::FakeElevenLabs;
use super::fakes::openai::FakeOpenAi;
use super::fakes::ProfileName;
use super::latency_stages::LatencyBreakdown;
use super::persona::Persona;
use crate::api_client::Api;
use crate::clock::OffsetClock;
use crate::config::Settings;
use crate::startup::Application;

/// The sandbox's options (the command's flags).
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub leads: Option<PathBuf>,
    /// Use only the first N leads of the file.
    pub calls: Option<usize>,
    pub port: u16,
    pub keep_running: bool,
    /// Retry delays: this many seconds for each "minute" of the campaign's retry policy.
    pub retry_minute_seconds: u32,
    /// Keep the default calling window instead of forcing it open.
    pub respect_calling_hours: bool,
    pub max_concurrent_calls: u32,
    /// Seed of the persona mix for leads without a `persona` column.
    pub seed: u64,
    /// The playbook to talk with.
    pub playbook: String,
    /// Where playbooks are (`PLAYBOOKS_DIR` otherwise).
    pub playbooks_dir: Option<String>,
    /// Ports for the fakes (0 = any free port).
    pub fake_ports: (u16, u16, u16),
    pub quiet: bool,
    /// The fakes' latency profile.
    pub profile: ProfileName,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            leads: None,
            calls: None,
            port: 8000,
            keep_running: false,
            retry_minute_seconds: 1,
            respect_calling_hours: false,
            max_concurrent_calls: 10,
            seed: 7,
            playbook: "real_estate_en".into(),
            playbooks_dir: None,
            fake_ports: (0, 0, 0),
            quiet: false,
            profile: ProfileName::Instant,
        }
    }
}

/// What a sandbox run produced, for the summary and for tests.
#[derive(Debug, Clone)]
pub struct SandboxResult {
    pub base_url: String,
    pub campaign_id: i64,
    pub campaign: Value,
    pub analytics: Value,
    pub calls: Vec<Value>,
    pub leads: Vec<Value>,
    /// The phone's view of each answered call.
    pub phone: HashMap<String, super::exotel::media_client::CallReport>,
    pub dials: Vec<super::exotel::DialRecord>,
    pub elapsed: Duration,
    /// The fakes' latency profile the run used.
    pub profile: ProfileName,
}

impl SandboxResult {
    /// Voice-to-voice at the phone and the server's stages, over every answered turn.
    pub fn latency(&self) -> LatencyBreakdown {
        let voice_to_voice = self
            .phone
            .values()
            .flat_map(|r| r.health.response_ms.iter().map(|ms| u64::from(*ms)))
            .collect();
        LatencyBreakdown::from_calls(&self.calls, voice_to_voice)
    }
}

struct Lead {
    phone: String,
    persona: String,
}

/// The simulated sales team's number, where the sandbox campaign's hand-offs go.
const SANDBOX_SALES_TEAM: &str = "+919811100000";
const BUNDLED_LEADS: &str = include_str!("../../examples/sandbox_leads.csv");

pub async fn run(options: SandboxOptions) -> anyhow::Result<SandboxResult> {
    let started = Instant::now();
    let csv = match &options.leads {
        Some(path) => std::fs::read_to_string(path)?,
        None => BUNDLED_LEADS.to_string(),
    };
    let csv = limit_rows(&csv, options.calls);
    let leads = personas_of(&csv, options.seed);
    // One directory per run (not per process): two runs in one test binary must not share
    // a database.
    let dir = std::env::temp_dir().join(format!(
        "voice-runtime-sandbox-{}-{}",
        std::process::id(),
        &crate::config::random_token()[..8]
    ));
    // The runtime records every call here (`RECORDINGS_DIR`); the simulated Exotel keeps its
    // own recordings (what the phone heard) apart, so neither writes over the other.
    let recordings = dir.join("recordings");
    let exotel_recordings = recordings.join("exotel");
    std::fs::create_dir_all(&exotel_recordings)?;

    let (dg_port, ai_port, el_port) = options.fake_ports;
    let env: HashMap<String, String> = std::env::vars().collect();
    let deepgram = FakeDeepgram::start(dg_port).await?;
    let openai = FakeOpenAi::start(ai_port)?;
    let elevenlabs = FakeElevenLabs::start(el_port)?;
    let sim = ExotelSimulator::start(simulator_config(&leads))?;
    if leads.iter().any(|l| l.persona == "provider_stall") {
        // The stalled provider: the fake TTS never answers a line naming the stall persona's
        // town (its confirmation), as a real stream that stops mid-call.
        elevenlabs.knobs.hang_texts_containing(Persona::STALL_CUE);
    }
    for knobs in [&deepgram.knobs, &openai.knobs, &elevenlabs.knobs] {
        knobs.profile(options.profile);
    }
    if options.profile == ProfileName::Instant {
        // Real Deepgram: the first interim 0.5–1 s after speech starts, and `speech_final`
        // only after a silence longer than a breath (shared/specs/real-world.md). The
        // turn-taking personas (a "haan ji" over the agent, a breath mid-sentence) rehearse
        // exactly that. The realistic profile uses the runtime's own `endpointing` instead.
        deepgram.knobs.endpointing(1000, 700, 400, 1000);
    }

    let mut vars = env.clone();
    let mut set = |k: &str, v: String| {
        vars.insert(k.to_string(), v);
    };
    set(
        "DATABASE_URL",
        format!("sqlite://{}?mode=rwc", dir.join("sandbox.db").display()),
    );
    set("BIND_ADDR", format!("127.0.0.1:{}", options.port));
    set("EXOTEL_ACCOUNT_SID", "sandbox".into());
    set("EXOTEL_API_KEY", "sandbox-key".into());
    set("EXOTEL_API_TOKEN", "sandbox-token".into());
    set("EXOTEL_VIRTUAL_NUMBER", "+918000000000".into());
    set("EXOTEL_EXOPHLO_ID", "sandbox-flow".into());
    set("EXOTEL_BASE_URL", sim.base_url.clone());
    set("EXOTEL_CONNECT_MODE", "flow".into());
    set(
        "RETRY_MINUTE_SECONDS",
        options.retry_minute_seconds.to_string(),
    );
    set(
        "MAX_CONCURRENT_CALLS",
        options.max_concurrent_calls.to_string(),
    );
    if let Some(dir) = &options.playbooks_dir {
        set("PLAYBOOKS_DIR", dir.clone());
    }
    // The fallback lines are rendered by this run's TTS (the fake, unless a real key is set).
    set("RECORDINGS_DIR", recordings.display().to_string());
    set(
        "FALLBACK_AUDIO_DIR",
        dir.join("fallback_audio").display().to_string(),
    );
    if !options.respect_calling_hours {
        // The window is forced open below (00–24, every day), so the regulatory floor is
        // lifted for this node: it dials nobody but its own simulator. The campaign stays
        // promotional (not `transactional`), as the playbook it runs is, so what the sandbox
        // shows is what an operator would create; `--respect-calling-hours` keeps the floor.
        set("REGULATORY_HOURS", "0-24".into());
    }
    let mut fakes_used = Vec::new();
    // Real keys in the environment replace the matching fake.
    if !env.contains_key("DEEPGRAM_API_KEY") {
        set("DEEPGRAM_URL", deepgram.url.clone());
        set("DEEPGRAM_API_KEY", "sandbox".into());
        fakes_used.push("Deepgram");
    }
    if !env.contains_key("OPENAI_API_KEY") {
        set("OPENAI_BASE_URL", openai.base_url.clone());
        set("OPENAI_API_KEY", "sandbox".into());
        fakes_used.push("OpenAI");
    }
    if !env.contains_key("ELEVENLABS_API_KEY") {
        set("ELEVENLABS_BASE_URL", elevenlabs.base_url.clone());
        set("ELEVENLABS_API_KEY", "sandbox".into());
        fakes_used.push("ElevenLabs");
    }
    let settings = Settings::from_map(&vars)?;
    let secret = settings.webhook_secret.clone();
    let clock = Arc::new(OffsetClock::default());
    // Exotel's call list and ours must agree on when a call was made, jumps included.
    sim.use_clock(clock.clone());
    let app = Application::build_with_clock(settings, clock.clone()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = app.stop_handle();
    actix_web::rt::spawn(app.run_until_stopped());
    sim.set_voice(VoiceSetup {
        voicebot_url: format!("{base}/exotel/voicebot-url?token={secret}"),
        personas: voice_personas(&leads),
        default_persona: Persona::by_name("interested")
            .unwrap_or_else(|| Persona::new("nobody", vec![])),
        sample_rate: 8000,
        recordings_dir: Some(exotel_recordings),
        time_limit: Duration::from_secs(180),
        measure: false,
    });
    // The flow's hand-off applets (README "Hand-off to a human"): a lead with the persona
    // `wants_a_person` is handed to the simulated sales team, who answer.
    sim.set_handoff(HandoffFlow::new(
        format!("{base}/exotel/passthru?token={secret}"),
        format!("{base}/exotel/transfer-destination?token={secret}"),
        Some(format!("{base}/exotel/transfer-result?token={secret}")),
    ));

    let say = |line: String| {
        if !options.quiet {
            println!("{line}");
        }
    };
    say(format!(
        "voice-runtime sandbox — server {base}, database {}",
        dir.join("sandbox.db").display()
    ));
    say(format!(
        "  simulated: Exotel (dials, ringing, answers, media) and {}",
        fakes_used.join(", ")
    ));
    say(format!(
        "  calling window {}; retry delays shortened: 1 policy minute = {} s",
        if options.respect_calling_hours {
            "as configured"
        } else {
            "forced open (00–24, every day)"
        },
        options.retry_minute_seconds
    ));

    say(format!(
        "  console: {base}/ui/live  (open it to watch the calls as they happen{})",
        if vars.contains_key("API_KEY") {
            "; sign in with API_KEY"
        } else {
            ""
        }
    ));

    let api = Api::new(&base, vars.get("API_KEY").cloned());
    let hours = if options.respect_calling_hours {
        json!({})
    } else {
        json!({"calling_hours_start": 0, "calling_hours_end": 24, "calling_days": "Mon-Sun"})
    };
    let mut body = json!({"name": "Sandbox campaign", "playbook": options.playbook, "max_concurrent_calls": options.max_concurrent_calls,
        "retry_no_answer_minutes": 5, "retry_busy_minutes": 5, "retry_voicemail_minutes": 5, "max_attempts": 3,
        "transfer_numbers": [SANDBOX_SALES_TEAM]});
    if let (Some(b), Some(h)) = (body.as_object_mut(), hours.as_object()) {
        b.extend(h.clone());
    }
    let (id, upload) = api.launch(&body, &csv).await?;
    say(format!(
        "  campaign {id}: {} leads accepted, {} rejected, {} duplicates",
        upload["accepted"], upload["rejected_count"], upload["duplicates"]
    ));

    watch(&api, id, &clock, started, &say).await?;
    let result = collect(&api, id, &sim, started, options.profile).await?;
    say(summary(&result, &recordings));
    if options.keep_running {
        say(format!(
            "\nThe server stays up at {base} (Ctrl-C to stop).\n  Console: {base}/ui/campaigns/{id}\n  API:     curl {base}/exports/calls/{id}  (reference: {base}/docs)"
        ));
        futures::future::pending::<()>().await;
    }
    stop.stop().await;
    sim.stop().await;
    Ok(result)
}

/// The first `n` data rows of a CSV (quoted newlines respected).
fn limit_rows(csv: &str, n: Option<usize>) -> String {
    let Some(n) = n else { return csv.to_string() };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv.as_bytes());
    let mut writer = csv::Writer::from_writer(Vec::new());
    if let Ok(h) = reader.headers() {
        let _ = writer.write_record(h);
    }
    for record in reader.records().flatten().take(n) {
        let _ = writer.write_record(&record);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Each lead's phone (E.164) and persona: the `persona` column, or a seeded mix.
fn personas_of(csv: &str, seed: u64) -> Vec<Lead> {
    let Ok(parsed) = crate::leads::csv_import::parse_leads(csv.as_bytes()) else {
        return Vec::new();
    };
    parsed
        .leads
        .into_iter()
        .enumerate()
        .map(|(i, (_, lead))| {
            let persona = lead
                .attributes
                .get("persona")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| {
                    let all = Persona::ANSWERING;
                    all[(seed as usize).wrapping_mul(31).wrapping_add(i * 7) % all.len()]
                        .to_string()
                });
            Lead {
                phone: lead.phone,
                persona,
            }
        })
        .collect()
}

fn simulator_config(leads: &[Lead]) -> SimulatorConfig {
    let mut config = SimulatorConfig::new("sandbox", "sandbox-key", "sandbox-token");
    config.scenario.ring_time = Duration::from_millis(1500);
    for lead in leads {
        let script = match lead.persona.as_str() {
            "busy" => vec![Outcome::Busy, Outcome::Answer],
            "no_answer" => vec![Outcome::NoAnswer],
            _ => vec![Outcome::Answer],
        };
        config
            .scenario
            .per_number
            .insert(lead.phone.clone(), script);
    }
    config
}

fn voice_personas(leads: &[Lead]) -> HashMap<String, Vec<Persona>> {
    leads
        .iter()
        .filter_map(|l| {
            let first = Persona::by_name(&l.persona)?;
            // The call-back lead answers the call-back as an interested buyer.
            let mut list = vec![first];
            if l.persona == "callback" {
                list.extend(Persona::by_name("interested"));
            }
            Some((l.phone.clone(), list))
        })
        .collect()
}

/// Live progress until every lead has reached an end; jumps the clock over idle waits (a
/// call-back asked for tomorrow) so the run takes minutes.
async fn watch(
    api: &Api,
    id: i64,
    clock: &OffsetClock,
    started: Instant,
    say: &impl Fn(String),
) -> anyhow::Result<()> {
    let mut last_line = String::new();
    let mut idle_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let campaign = api.get(&format!("/campaigns/{id}")).await?;
        let sessions = api.get("/debug/sessions").await?;
        let actors = api.get("/debug/actors").await?;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for s in sessions["sessions"].as_array().into_iter().flatten() {
            let state = match (s["status"].as_str(), s["conversation"]["stage"].as_str()) {
                (_, Some(_)) => "talking",
                (Some("RINGING"), _) => "ringing",
                (Some("IN_PROGRESS"), _) => "talking",
                _ => "dialing",
            };
            *counts.entry(state).or_default() += 1;
        }
        let done = campaign["leads_completed"].as_i64().unwrap_or(0);
        let total = campaign["total_leads"].as_i64().unwrap_or(0);
        let line = format!(
            "[{:>4}s] dialing {} · ringing {} · talking {} · done {done}/{total} · {}",
            started.elapsed().as_secs(),
            counts.get("dialing").unwrap_or(&0),
            counts.get("ringing").unwrap_or(&0),
            counts.get("talking").unwrap_or(&0),
            campaign["status"].as_str().unwrap_or("?")
        );
        if line[8..] != last_line.get(8..).unwrap_or("")[..] {
            say(line.clone());
            last_line = line;
        }
        if campaign["status"] == "COMPLETED" {
            return Ok(());
        }
        let live = sessions["count"].as_u64().unwrap_or(0);
        let state = &actors["children"][0]["state"]["campaigns"][0];
        let next_due = state["next_due"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if live == 0 && state["tokens_in_use"] == 0 {
            let idle = *idle_since.get_or_insert_with(Instant::now);
            if let Some(next) = next_due {
                let wait = next.with_timezone(&chrono::Utc) - crate::clock::Clock::now(clock);
                if wait > chrono::Duration::seconds(10) && idle.elapsed() > Duration::from_secs(2) {
                    say(format!(
                        "         nothing to do until {} — the sandbox clock jumps ahead",
                        next.format("%a %H:%M")
                    ));
                    clock.jump(wait);
                    idle_since = None;
                }
            }
        } else {
            idle_since = None;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("the campaign did not complete in 30 minutes");
        }
    }
}

async fn collect(
    api: &Api,
    id: i64,
    sim: &ExotelSimulator,
    started: Instant,
    profile: ProfileName,
) -> anyhow::Result<SandboxResult> {
    let calls = api.get(&format!("/exports/calls/{id}")).await?;
    let leads = api
        .get(&format!("/campaigns/{id}/leads?limit=1000"))
        .await?;
    Ok(SandboxResult {
        base_url: api.base.clone(),
        campaign_id: id,
        campaign: api.get(&format!("/campaigns/{id}")).await?,
        analytics: api.get(&format!("/analytics/campaign/{id}")).await?,
        calls: calls.as_array().cloned().unwrap_or_default(),
        leads: leads["items"].as_array().cloned().unwrap_or_default(),
        phone: sim.reports(),
        dials: sim.dials(),
        elapsed: started.elapsed(),
        profile,
    })
}

/// Percentile of a sorted slice (nearest rank).
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Every answered turn's figure `key`, sorted.
pub fn turn_figures(calls: &[Value], key: &str) -> Vec<u64> {
    let mut v: Vec<u64> = calls
        .iter()
        .flat_map(|c| c["transcript"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["latency"][key].as_u64())
        .collect();
    v.sort_unstable();
    v
}

/// The silences callers heard waiting for the agent, across every answered call.
#[derive(Debug, Clone, Default)]
pub struct Silences {
    pub longest: Option<LongestWait>,
    /// Over every wait of every call, greetings included, ms.
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub waits: usize,
}

/// The longest wait, and whose call it was.
#[derive(Debug, Clone)]
pub struct LongestWait {
    pub persona: String,
    pub call_sid: String,
    pub wait: Wait,
}

/// `Silences` from the phone's reports (`SandboxResult::phone`).
pub fn silences(phone: &HashMap<String, CallReport>) -> Silences {
    let mut all: Vec<u64> = phone
        .values()
        .flat_map(|r| r.waits.iter().map(|w| u64::from(w.ms)))
        .collect();
    all.sort_unstable();
    let longest = phone
        .iter()
        .filter_map(|(sid, r)| Some((sid, r, r.longest_wait()?)))
        .max_by_key(|(_, _, w)| w.ms)
        .map(|(sid, r, w)| LongestWait {
            persona: r.persona.clone(),
            call_sid: sid.clone(),
            wait: w.clone(),
        });
    Silences {
        longest,
        p50: percentile(&all, 50.0),
        p95: percentile(&all, 95.0),
        waits: all.len(),
    }
}

fn summary(r: &SandboxResult, recordings: &std::path::Path) -> String {
    let mut out = String::new();
    let a = &r.analytics;
    out.push_str(&format!(
        "\nCampaign {} {} in {:.0} s: {} leads, {} calls, {} answered by people, {} by machines\n",
        r.campaign_id,
        r.campaign["status"].as_str().unwrap_or("?"),
        r.elapsed.as_secs_f64(),
        a["total_leads"],
        a["total_calls"],
        a["answered_calls"],
        a["voicemail_calls"]
    ));
    out.push_str("\nOutcomes\n");
    for o in a["outcomes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<20} {}\n",
            o["key"].as_str().unwrap_or(""),
            o["count"]
        ));
    }
    for s in a["calls_by_status"].as_array().into_iter().flatten() {
        if s["key"] != "COMPLETED" {
            out.push_str(&format!(
                "  {:<20} {}\n",
                format!("call {}", s["key"].as_str().unwrap_or("").to_lowercase()),
                s["count"]
            ));
        }
    }
    out.push_str("\nQualified leads\n");
    for c in r.calls.iter().filter(|c| c["lead_qualified"] == true) {
        out.push_str(&format!(
            "  {:<18} {}\n",
            c["lead_name"].as_str().unwrap_or(""),
            c["extracted_data"]
        ));
    }
    out.push_str("\nAttempts per lead\n");
    for h in a["attempts_histogram"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {} attempt(s): {} lead(s)\n",
            h["key"].as_str().unwrap_or(""),
            h["count"]
        ));
    }
    let ms = |k: &str| turn_figures(&r.calls, k);
    let to_first = ms("first_frame_ms");
    let ours_a = ms("overhead_transcript_to_llm_us");
    let ours_b = ms("overhead_tts_to_frame_us");
    let fmt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
    out.push_str(&format!(
        "\nTurn latency, end of caller speech → first agent audio frame ({} turns): median {} ms, p95 {} ms\n",
        to_first.len(), fmt(percentile(&to_first, 50.0)), fmt(percentile(&to_first, 95.0))
    ));
    out.push_str(&format!(
        "Runtime's own time per turn: final transcript → LLM request p50 {} µs p99 {} µs; first TTS byte → first frame p50 {} µs p99 {} µs\n",
        fmt(percentile(&ours_a, 50.0)), fmt(percentile(&ours_a, 99.0)), fmt(percentile(&ours_b, 50.0)), fmt(percentile(&ours_b, 99.0))
    ));
    out.push_str(&r.latency().render(r.profile.as_str()));
    let silence = silences(&r.phone);
    match &silence.longest {
        Some(longest) => out.push_str(&format!(
            "Longest silence a caller heard waiting for the agent: {} ms ({}, call {}, after {}{}); waits p50 {} ms, p95 {} ms over {} waits (greetings included)\n",
            longest.wait.ms,
            longest.persona,
            longest.call_sid,
            match &longest.wait.after {
                WaitCause::PickUp => "picking up".to_string(),
                WaitCause::CallerSpoke(said) => format!("{said:?}"),
            },
            if longest.wait.answered { "" } else { ", never answered" },
            fmt(silence.p50),
            fmt(silence.p95),
            silence.waits
        )),
        None => out.push_str("Longest silence a caller heard waiting for the agent: - (no answered call)\n"),
    }
    out.push_str(&format!(
        "\nTranscripts: curl {}/exports/calls/{}  (add ?format=csv for a spreadsheet)\nRecordings (WAV, left caller / right agent): {} (each call's `recording` link in the export serves it)\n",
        r.base_url, r.campaign_id, recordings.display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(persona: &str, waits: &[(u32, bool)]) -> CallReport {
        CallReport {
            persona: persona.into(),
            waits: waits
                .iter()
                .map(|&(ms, answered)| Wait {
                    after: WaitCause::CallerSpoke("yes".into()),
                    ms,
                    answered,
                })
                .collect(),
            ..CallReport::default()
        }
    }

    #[test]
    fn the_longest_silence_names_its_call_and_persona() {
        let phone: HashMap<String, CallReport> = [
            (
                "CA1".to_string(),
                report("interested", &[(400, true), (700, true)]),
            ),
            (
                "CA2".to_string(),
                report("provider_stall", &[(500, true), (2900, false)]),
            ),
            ("CA3".to_string(), report("silent", &[])),
        ]
        .into_iter()
        .collect();
        let s = silences(&phone);
        let longest = s.longest.unwrap();
        assert_eq!(
            (longest.call_sid.as_str(), longest.persona.as_str()),
            ("CA2", "provider_stall")
        );
        assert_eq!(longest.wait.ms, 2900);
        assert!(!longest.wait.answered);
        assert_eq!((s.waits, s.p50, s.p95), (4, Some(500), Some(2900)));
        assert!(silences(&HashMap::new()).longest.is_none());
    }

    #[test]
    fn the_turn_taking_personas_are_known_by_name() {
        for name in ["hello", "haan_ji", "pause_mid_sentence", "provider_stall"] {
            assert_eq!(Persona::by_name(name).unwrap().name, name);
        }
    }
}
