//! `voice-runtime bench`: N concurrent live calls against the server running as a separate
//! process (release build recommended), the provider fakes in another process (their CPU is
//! not ours), and a load generator here that behaves like Exotel: it dials nothing itself but
//! answers the server's dials, streams real-time 100 ms caller frames in a speech/silence
//! pattern and plays the server's audio in real time, judging it as a phone would.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use super::process_cpu::{cpu_ms, kernel_cpu_ms, rss_kib};
use crate::api_client::Api;
use crate::sandbox::exotel::{ExotelSimulator, SimulatorConfig, VoiceSetup};
use crate::sandbox::fakes::ProfileName;
use crate::sandbox::latency_stages::LatencyBreakdown;
use crate::sandbox::persona::{Persona, Reply};
use crate::sandbox::run::percentile;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub calls: usize,
    /// Seconds over which calls are started.
    pub ramp: u64,
    /// Length of each call, seconds.
    pub duration: u64,
    pub database_url: Option<String>,
    pub sweep: bool,
    pub json_out: Option<PathBuf>,
    /// The fakes' latency profile.
    pub profile: ProfileName,
    /// Runs per size (the spread is printed).
    pub runs: usize,
    /// Server on CPU 1, load generator and fakes on CPU 0.
    pub pin: bool,
}

/// One run's figures (also written as JSON).
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub calls: usize,
    pub completed: usize,
    pub errors: usize,
    pub call_seconds: f64,
    /// Whole run, from start to the campaign's completion (set-up and wind-down included).
    pub server_cpu_ms_per_call_second: f64,
    /// Only while every call was live (steady state); `None` when no second of the run had
    /// them all live (a call ended before the last one started): no figure, rather than 0.
    pub server_cpu_ms_per_call_second_steady: Option<f64>,
    /// The part of the steady figure spent in the kernel (system calls; over loopback also
    /// the receiving side's TCP processing of what the server sends), 0–1.
    pub server_kernel_share_steady: Option<f64>,
    pub server_rss_idle_kib: u64,
    pub server_rss_peak_kib: u64,
    pub server_rss_per_call_kib: f64,
    /// The load generator (this process) and the fakes, while every call was live: what the
    /// test harness cost, reported beside the server's share.
    pub harness_cpu_ms_per_call_second_steady: Option<f64>,
    /// Agent audio per media message (`EXOTEL_OUTBOUND_CHUNK_MS` as the server read it).
    pub outbound_chunk_ms: String,
    pub underruns: u64,
    /// Underruns in a playout tick that fired ≥ 50 ms late: the load generator's lateness.
    pub underruns_phone_late: u64,
    /// Playout ticks (100 ms each, all calls) that fired ≥ 50 ms late, and the worst one.
    pub phone_late_ticks: u64,
    pub phone_tick_late_max_ms: u64,
    pub frames: u64,
    pub lateness_ms_p50: Option<u64>,
    pub lateness_ms_p99: Option<u64>,
    pub lateness_ms_max: Option<u64>,
    pub response_ms_p50: Option<u64>,
    pub response_ms_p95: Option<u64>,
    pub response_ms_p99: Option<u64>,
    pub runtime_overhead_us_p50: Option<u64>,
    pub runtime_overhead_us_p99: Option<u64>,
    pub healthy: bool,
    /// The fakes' latency profile.
    pub profile: String,
    /// Voice-to-voice at the phone and the server's stages.
    pub latency: LatencyBreakdown,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for_port(port: u16) -> anyhow::Result<()> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listens on port {port}")
}

/// A caller who keeps the conversation going until the call's time limit: short answers, two
/// of which give a fact (the agent records it with a tool call, which is what the two-round
/// share measures) but never the budget, so the agent keeps asking.
fn chatty() -> Persona {
    let lines = [
        "yes",
        "I want a 2bhk",
        "hmm, tell me more",
        "somewhere in Pune",
        "I am not sure yet",
        "go on",
        "okay, and then",
    ];
    let replies = (0..400)
        .map(|i| Reply::Say(lines[i % lines.len()].to_string()))
        .collect();
    let mut p = Persona::new("load", replies);
    p.think = Duration::from_millis(300);
    p
}

pub async fn run(options: LoadOptions) -> anyhow::Result<()> {
    let sizes: Vec<usize> = if options.sweep {
        // Past issue 15's target (1,000), so the sweep finds where it breaks: 1,000 held
        // (2026-11-28, pinned) and 1,300 did not, with both cores near full.
        [
            25usize, 50, 100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1400,
        ]
        .into_iter()
        .collect()
    } else {
        vec![options.calls]
    };
    if options.pin {
        pin_harness()?;
    }
    let mut reports = Vec::new();
    let mut held = None;
    for n in sizes {
        let mut runs = Vec::new();
        for _ in 0..options.runs {
            let report = run_once(n, &options).await?;
            print_report(&report);
            runs.push(report);
        }
        if runs.len() > 1 {
            print_spread(&runs);
        }
        let healthy = runs.iter().all(|r| r.healthy);
        reports.extend(runs);
        if !healthy {
            break;
        }
        held = Some(n);
    }
    if options.sweep {
        match held {
            Some(n) => println!("\nsweep: the largest N held with healthy audio is {n}"),
            None => println!("\nsweep: even the smallest N was not healthy"),
        }
    }
    if let Some(path) = &options.json_out {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&json!({"runs": reports, "largest_healthy": held}))?,
        )?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}

async fn run_once(n: usize, options: &LoadOptions) -> anyhow::Result<LoadReport> {
    let exe = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("voice-runtime-load-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (dg, ai, el, port) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let harness = std::process::id();
    let fakes = Proc(
        Command::new(&exe)
            .args([
                "fakes",
                "--deepgram-port",
                &dg.to_string(),
                "--openai-port",
                &ai.to_string(),
                "--elevenlabs-port",
                &el.to_string(),
                "--profile",
                options.profile.as_str(),
            ])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()?,
    );
    for p in [dg, ai, el] {
        wait_for_port(p).await?;
    }
    let mut sim_config = SimulatorConfig::new("load", "load-key", "load-token");
    sim_config.calls_per_minute = None;
    sim_config.scenario.ring_time = Duration::from_millis(500);
    let sim = ExotelSimulator::start(sim_config)?;
    let secret = crate::config::random_token();
    let db = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("load.db").display()));
    let per_minute = ((n as u64 * 60) / options.ramp.max(1)).clamp(60, 100_000);
    // Pinned, the server runs alone on CPU 1 (the harness pinned itself to CPU 0).
    let mut serve = if let Ok(wrap) = std::env::var("BENCH_SERVER_WRAP") {
        let mut words = wrap.split_whitespace();
        let mut c = Command::new(words.next().unwrap_or("env"));
        c.args(words).arg(&exe);
        c
    } else if options.pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let server = Proc(
        serve
            .arg("serve")
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &db)
            .env("WEBHOOK_SECRET", &secret)
            .env("RUST_LOG", "error")
            .env("MAX_CONCURRENT_CALLS", n.to_string())
            // The load generator plays Exotel: lift the regulatory floor with the window.
            .env("REGULATORY_HOURS", "0-24")
            .env(
                "MAX_CALL_DURATION_MINUTES",
                (options.duration / 60 + 2).to_string(),
            )
            .env("EXOTEL_ACCOUNT_SID", "load")
            .env("EXOTEL_API_KEY", "load-key")
            .env("EXOTEL_API_TOKEN", "load-token")
            .env("EXOTEL_VIRTUAL_NUMBER", "+918000000000")
            .env("EXOTEL_EXOPHLO_ID", "load")
            .env("EXOTEL_BASE_URL", &sim.base_url)
            .env("EXOTEL_CALLS_PER_MINUTE", per_minute.to_string())
            .env("DEEPGRAM_URL", format!("ws://127.0.0.1:{dg}/v1/listen"))
            .env("DEEPGRAM_API_KEY", "load")
            .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{ai}/v1"))
            .env("OPENAI_API_KEY", "load")
            .env("ELEVENLABS_BASE_URL", format!("http://127.0.0.1:{el}"))
            .env("ELEVENLABS_API_KEY", "load")
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_for_port(port).await?;
    let pid = server.0.id();
    let fakes_pid = fakes.0.id();
    let harness_cpu = || cpu_ms(harness) + cpu_ms(fakes_pid);
    let base = format!("http://127.0.0.1:{port}");
    sim.set_voice(VoiceSetup {
        voicebot_url: format!("{base}/exotel/voicebot-url?token={secret}"),
        personas: HashMap::new(),
        default_persona: chatty(),
        sample_rate: 8000,
        recordings_dir: None,
        time_limit: Duration::from_secs(options.duration),
        measure: true,
    });
    let api = Api::new(&base, None);
    let body = json!({"name": format!("load {n}"), "max_concurrent_calls": n, "calling_hours_start": 0,
        "calling_hours_end": 24, "calling_days": "Mon-Sun", "max_attempts": 1});
    let id = api.post("/campaigns", &body).await?["id"]
        .as_i64()
        .unwrap_or_default();
    let mut csv = String::from("name,phone\n");
    for i in 0..n {
        csv.push_str(&format!("Load {i},+9160{:08}\n", i));
    }
    api.upload(&format!("/campaigns/{id}/upload-csv"), &csv)
        .await?;
    let rss_idle = rss_kib(pid);
    let cpu_before = cpu_ms(pid);
    api.post(&format!("/campaigns/{id}/start"), &json!({}))
        .await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.ramp + options.duration + 180);
    let mut rss_peak = rss_idle;
    let (mut steady_cpu, mut steady_harness, mut steady_call_seconds) = (0u64, 0u64, 0f64);
    let mut steady_kernel = 0u64;
    let mut last = (
        Instant::now(),
        cpu_ms(pid),
        harness_cpu(),
        kernel_cpu_ms(pid),
    );
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(rss_kib(pid));
        let now = (
            Instant::now(),
            cpu_ms(pid),
            harness_cpu(),
            kernel_cpu_ms(pid),
        );
        if sim.live_calls() >= n {
            steady_cpu += now.1.saturating_sub(last.1);
            steady_kernel += now.3.saturating_sub(last.3);
            steady_harness += now.2.saturating_sub(last.2);
            steady_call_seconds += now.0.duration_since(last.0).as_secs_f64() * n as f64;
        }
        last = now;
        let c = api.get(&format!("/campaigns/{id}")).await?;
        if c["status"] == "COMPLETED" || Instant::now() > deadline {
            break;
        }
    }
    let cpu = cpu_ms(pid).saturating_sub(cpu_before);
    let steady = steady_call_seconds > 0.0;
    let calls: Vec<Value> = api
        .get(&format!("/exports/calls/{id}"))
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    let reports = sim.reports();
    drop(server);
    drop(fakes);
    sim.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    let call_seconds: f64 = reports.values().map(|r| r.duration.as_secs_f64()).sum();
    let mut lateness: Vec<u64> = reports
        .values()
        .flat_map(|r| r.health.lateness_ms.iter().map(|x| u64::from(*x)))
        .collect();
    lateness.sort_unstable();
    let mut response: Vec<u64> = reports
        .values()
        .flat_map(|r| r.health.response_ms.iter().map(|x| u64::from(*x)))
        .collect();
    response.sort_unstable();
    let mut overhead: Vec<u64> = calls
        .iter()
        .flat_map(|c| c["transcript"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| {
            Some(
                t["latency"]["overhead_transcript_to_llm_us"].as_u64()?
                    + t["latency"]["overhead_tts_to_frame_us"].as_u64()?,
            )
        })
        .collect();
    overhead.sort_unstable();
    let completed = calls
        .iter()
        .filter(|c| c["final_outcome"].is_string() && c["final_outcome"] != "error")
        .count();
    let errors = n - completed;
    let underruns: u64 = reports
        .values()
        .map(|r| u64::from(r.health.underruns))
        .sum();
    let p99_late = percentile(&lateness, 99.0);
    let latency = LatencyBreakdown::from_calls(&calls, response.clone());
    Ok(LoadReport {
        calls: n,
        completed,
        errors,
        call_seconds,
        server_cpu_ms_per_call_second: if call_seconds > 0.0 {
            cpu as f64 / call_seconds
        } else {
            0.0
        },
        server_cpu_ms_per_call_second_steady: steady
            .then(|| steady_cpu as f64 / steady_call_seconds),
        server_kernel_share_steady: steady.then(|| steady_kernel as f64 / steady_cpu.max(1) as f64),
        server_rss_idle_kib: rss_idle,
        server_rss_peak_kib: rss_peak,
        server_rss_per_call_kib: rss_peak.saturating_sub(rss_idle) as f64 / n.max(1) as f64,
        harness_cpu_ms_per_call_second_steady: steady
            .then(|| steady_harness as f64 / steady_call_seconds),
        outbound_chunk_ms: std::env::var("EXOTEL_OUTBOUND_CHUNK_MS")
            .unwrap_or_else(|_| "100".into()),
        underruns,
        underruns_phone_late: reports
            .values()
            .map(|r| u64::from(r.health.underruns_phone_late))
            .sum(),
        phone_late_ticks: reports
            .values()
            .map(|r| u64::from(r.health.late_ticks))
            .sum(),
        phone_tick_late_max_ms: reports
            .values()
            .map(|r| u64::from(r.health.tick_late_max_ms))
            .max()
            .unwrap_or(0),
        frames: reports.values().map(|r| r.health.frames).sum(),
        lateness_ms_p50: percentile(&lateness, 50.0),
        lateness_ms_p99: p99_late,
        lateness_ms_max: lateness.last().copied(),
        response_ms_p50: percentile(&response, 50.0),
        response_ms_p95: percentile(&response, 95.0),
        response_ms_p99: percentile(&response, 99.0),
        runtime_overhead_us_p50: percentile(&overhead, 50.0),
        runtime_overhead_us_p99: percentile(&overhead, 99.0),
        healthy: errors == 0 && underruns == 0 && p99_late.unwrap_or(0) < 20,
        profile: options.profile.as_str().to_string(),
        latency,
    })
}

fn print_report(r: &LoadReport) {
    let f = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
    println!("\n=== {} concurrent calls ===", r.calls);
    println!(
        "completed {} · errors/incomplete {} · {:.0} call-seconds",
        r.completed, r.errors, r.call_seconds
    );
    match (r.server_cpu_ms_per_call_second_steady, r.server_kernel_share_steady) {
        (Some(steady), Some(kernel)) => println!(
            "server CPU {steady:.2} ms per call-second while all calls were live ({:.0} % of it in the kernel; {:.2} over the whole run, set-up and wind-down included)",
            kernel * 100.0,
            r.server_cpu_ms_per_call_second
        ),
        _ => println!(
            "server CPU: no figure while all calls were live (no second of the run had all {} live at once); {:.2} ms per call-second over the whole run",
            r.calls, r.server_cpu_ms_per_call_second
        ),
    }
    println!(
        "server RSS idle {} KiB, peak {} KiB, {:.0} KiB per call",
        r.server_rss_idle_kib, r.server_rss_peak_kib, r.server_rss_per_call_kib
    );
    if let Some(harness) = r.harness_cpu_ms_per_call_second_steady {
        println!(
            "harness (load generator + fakes) CPU {harness:.2} ms per call-second while all calls were live; outbound chunks of {} ms",
            r.outbound_chunk_ms
        );
    }
    println!(
        "audio at the phone: {} frames, {} underruns, lateness p50 {} ms p99 {} ms max {} ms",
        r.frames,
        r.underruns,
        f(r.lateness_ms_p50),
        f(r.lateness_ms_p99),
        f(r.lateness_ms_max)
    );
    println!(
        "end of caller speech → first agent audio: p50 {} ms p95 {} ms p99 {} ms",
        f(r.response_ms_p50),
        f(r.response_ms_p95),
        f(r.response_ms_p99)
    );
    println!(
        "runtime's own time per turn: p50 {} µs p99 {} µs",
        f(r.runtime_overhead_us_p50),
        f(r.runtime_overhead_us_p99)
    );
    println!(
        "the phone's own lateness: {} of its 100 ms playout ticks fired ≥ 50 ms late (worst {} ms); {} of the underruns were in such a tick",
        r.phone_late_ticks, r.phone_tick_late_max_ms, r.underruns_phone_late
    );
    print!("{}", r.latency.render(&r.profile));
    println!(
        "healthy (no errors, no underruns, p99 lateness < 20 ms): {}",
        r.healthy
    );
}

/// Pins this process (every thread: the load generator) to CPU 0; the fakes it starts inherit
/// that, and the server is started on CPU 1.
fn pin_harness() -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "taskset could not pin the load generator");
    Ok(())
}

/// The spread of several runs of one size: min–max of the figures the targets name.
fn print_spread(runs: &[LoadReport]) {
    let spread_of = |f: &dyn Fn(&LoadReport) -> Option<f64>, digits: usize| {
        let (lo, hi) = runs
            .iter()
            .filter_map(f)
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        // Runs without the figure (no steady window) are left out and counted.
        let missing = runs.iter().filter(|r| f(r).is_none()).count();
        match (lo <= hi, missing) {
            (false, _) => "-".to_string(),
            (true, 0) => format!("{lo:.digits$}–{hi:.digits$}"),
            (true, m) => format!("{lo:.digits$}–{hi:.digits$} ({m} run(s) without it)"),
        }
    };
    let spread = |f: &dyn Fn(&LoadReport) -> f64, digits: usize| spread_of(&|r| Some(f(r)), digits);
    let opt = |v: Option<u64>| v.unwrap_or(0) as f64;
    println!(
        "\n=== {} calls, {} runs: min–max ===",
        runs[0].calls,
        runs.len()
    );
    println!(
        "errors {} · underruns {} (in the phone's late ticks {}) · lateness p99 {} ms, max {} ms",
        spread(&|r| r.errors as f64, 0),
        spread(&|r| r.underruns as f64, 0),
        spread(&|r| r.underruns_phone_late as f64, 0),
        spread(&|r| opt(r.lateness_ms_p99), 0),
        spread(&|r| opt(r.lateness_ms_max), 0)
    );
    println!(
        "server CPU per call-second {} ms steady ({} % in the kernel; {} whole run) · RSS per call {} KiB · harness CPU {} ms",
        spread_of(&|r| r.server_cpu_ms_per_call_second_steady, 2),
        spread_of(&|r| r.server_kernel_share_steady.map(|k| k * 100.0), 0),
        spread(&|r| r.server_cpu_ms_per_call_second, 2),
        spread(&|r| r.server_rss_per_call_kib, 0),
        spread_of(&|r| r.harness_cpu_ms_per_call_second_steady, 2)
    );
    println!(
        "end of speech → first agent audio p50 {} ms, p99 {} ms",
        spread(&|r| opt(r.response_ms_p50), 0),
        spread(&|r| opt(r.response_ms_p99), 0)
    );
}
