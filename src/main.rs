//! The `voice-runtime` command: `serve` runs the runtime; `sandbox`, `fakes`, `chaos` and the
//! benchmarks drive it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use voice_runtime::config::Settings;
use voice_runtime::startup::Application;

/// mimalloc instead of glibc's malloc: measured in the load benchmark (README, "Outbound chunk
/// size": 300 pinned calls), ~11 % less server CPU per call-second and ~12 % less memory per
/// call; a call allocates many small short-lived buffers (audio frames, JSON, mailbox envelopes).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "voice-runtime",
    version,
    about = "Actor-model AI voice runtime for outbound calling campaigns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole product offline: simulated Exotel, fake providers, a sample campaign.
    Sandbox {
        /// A leads CSV (an optional `persona` column picks each lead's behaviour).
        #[arg(long)]
        leads: Option<std::path::PathBuf>,
        /// Call only the first N leads.
        #[arg(long)]
        calls: Option<usize>,
        /// Port of the server (0 = any free port).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Leave the server up after the summary, for curl exploration.
        #[arg(long)]
        keep_running: bool,
        /// Seconds per minute of retry delay (retries come in seconds, not hours).
        #[arg(long, default_value_t = 1)]
        retry_seconds: u32,
        /// Keep the configured calling hours instead of forcing the window open.
        #[arg(long)]
        respect_calling_hours: bool,
        /// Live calls at once.
        #[arg(long, default_value_t = 10)]
        concurrency: u32,
        /// Playbook to talk with.
        #[arg(long, default_value = "real_estate_en")]
        playbook: String,
        /// The fakes' latency profile: `instant`, or `realistic` (provider figures with jitter
        /// and slow tails).
        #[arg(long, value_enum, default_value_t = voice_runtime::sandbox::fakes::ProfileName::Instant)]
        profile: voice_runtime::sandbox::fakes::ProfileName,
    },
    /// Serve the provider fakes alone (Deepgram, OpenAI, ElevenLabs) for any client to use.
    Fakes {
        #[arg(long, default_value_t = 8101)]
        deepgram_port: u16,
        #[arg(long, default_value_t = 8102)]
        openai_port: u16,
        #[arg(long, default_value_t = 8103)]
        elevenlabs_port: u16,
        /// Time to first result/token/byte, ms.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        #[arg(long, default_value_t = 0)]
        jitter_ms: u64,
        /// Share of requests that fail, 0.0–1.0.
        #[arg(long, default_value_t = 0.0)]
        failure_rate: f64,
        /// The unkind knobs (stalls, cut streams, split characters, endpointing by silence).
        #[command(flatten)]
        unkind: voice_runtime::sandbox::fakes::knob_args::FakeKnobArgs,
    },
    /// Run the REST API, the campaign engine and the media socket.
    Serve,
    /// Load benchmark: N concurrent live calls against a separate server process.
    Bench {
        #[arg(long, default_value_t = 50)]
        calls: usize,
        /// Seconds over which the calls are started.
        #[arg(long, default_value_t = 10)]
        ramp: u64,
        /// Length of each call, seconds.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        #[arg(long)]
        database_url: Option<String>,
        /// Increase N until audio health breaks; report the largest N held.
        #[arg(long)]
        sweep: bool,
        /// Write the figures as JSON here.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// The fakes' latency profile: `instant` (CPU benchmarks), or `realistic` (what a
        /// caller hears: voice-to-voice by stage).
        #[arg(long, value_enum, default_value_t = voice_runtime::sandbox::fakes::ProfileName::Instant)]
        profile: voice_runtime::sandbox::fakes::ProfileName,
        /// Repeat each size this many times and print the spread (min–max) of the figures.
        #[arg(long, default_value_t = 1)]
        runs: usize,
        /// The server on CPU 1 alone, the load generator and the fakes on CPU 0 (`taskset`),
        /// so the server's CPU share is its own.
        #[arg(long)]
        pin: bool,
    },
    /// A campaign against the simulated Exotel while faults strike at random (dial replies,
    /// callbacks dropped/duplicated/reordered, provider failures, the server SIGKILLed and
    /// restarted); then the invariants are checked. Exits non-zero on a violation.
    Chaos {
        /// Seed of every random choice: the same seed repeats the run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 200)]
        leads: usize,
        /// Times the server is SIGKILLed and restarted.
        #[arg(long, default_value_t = 2)]
        kills: usize,
        /// Share of connect requests answered with a fault.
        #[arg(long, default_value_t = 0.05)]
        dial_fault_rate: f64,
        /// Share of status callbacks dropped.
        #[arg(long, default_value_t = 0.05)]
        callback_drop_rate: f64,
        /// Share of status callbacks sent twice.
        #[arg(long, default_value_t = 0.05)]
        callback_duplicate_rate: f64,
        /// Share of non-terminal status callbacks sent after the terminal one.
        #[arg(long, default_value_t = 0.05)]
        callback_reorder_rate: f64,
        /// Share of provider requests that fail (and of Deepgram streams dropped).
        #[arg(long, default_value_t = 0.03)]
        provider_failure_rate: f64,
        /// Live calls at once.
        #[arg(long, default_value_t = 20)]
        concurrency: u32,
        /// Hard limit in seconds: the run stops by itself and reports.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
        /// PostgreSQL to run on; a temporary SQLite file when omitted.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Benchmark: import a generated lead list of N rows and print the time it took.
    BenchImport {
        /// Rows in the generated CSV.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Database to import into; a fresh temporary SQLite file when omitted.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Benchmark: the campaign engine's claims and dials per second against the simulated
    /// Exotel, pacing lifted.
    BenchScheduler {
        #[arg(long, default_value_t = 2000)]
        leads: usize,
        /// Live-call cap (node and campaign).
        #[arg(long, default_value_t = 100)]
        concurrency: u32,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Benchmark: 1, 2, 3… `serve` processes on one PostgreSQL dialing one campaign against
    /// the simulated Exotel: dials per second, the most calls live at once, the spread over
    /// the nodes, and the database's share of the CPU.
    BenchCluster {
        /// Node counts to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        nodes: Vec<usize>,
        #[arg(long, default_value_t = 600)]
        leads: usize,
        /// Runs of each node count.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Each node's MAX_CONCURRENT_CALLS (the campaign's and the account's caps are far above).
        #[arg(long, default_value_t = 20)]
        calls_per_node: u32,
        /// How long each phone rings before the call ends unanswered, ms.
        #[arg(long, default_value_t = 1000)]
        ring_ms: u64,
        /// A PostgreSQL URL that may create databases (one per run); DATABASE_URL or
        /// TEST_DATABASE_URL when omitted.
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Serve) {
        if let Err(e) = settings.check_public_exposure() {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    }
    // Commands that print figures or progress keep the log to warnings unless RUST_LOG asks.
    // The chaos run's simulator warns of every callback a killed server missed: by design.
    let default_log = match cli.command {
        Command::Serve => "info",
        Command::Chaos { .. } => "error",
        _ => "warn",
    };
    voice_runtime::telemetry::init_with_default(settings.log_format, default_log);
    let result = match cli.command {
        Command::Serve => serve(settings).await,
        Command::Bench {
            calls,
            ramp,
            duration,
            database_url,
            sweep,
            json,
            profile,
            runs,
            pin,
        } => {
            let options = voice_runtime::bench::load::LoadOptions {
                calls,
                ramp,
                duration,
                database_url,
                sweep,
                json_out: json,
                profile,
                runs: runs.max(1),
                pin,
            };
            voice_runtime::bench::load::run(options).await
        }
        Command::Sandbox {
            leads,
            calls,
            port,
            keep_running,
            retry_seconds,
            respect_calling_hours,
            concurrency,
            playbook,
            profile,
        } => {
            let options = voice_runtime::sandbox::run::SandboxOptions {
                leads,
                calls,
                port,
                keep_running,
                retry_minute_seconds: retry_seconds,
                respect_calling_hours,
                max_concurrent_calls: concurrency,
                playbook,
                profile,
                ..Default::default()
            };
            voice_runtime::sandbox::run::run(options).await.map(|_| ())
        }
        Command::Fakes {
            deepgram_port,
            openai_port,
            elevenlabs_port,
            latency_ms,
            jitter_ms,
            failure_rate,
            unkind,
        } => {
            fakes(
                deepgram_port,
                openai_port,
                elevenlabs_port,
                latency_ms,
                jitter_ms,
                failure_rate,
                unkind,
            )
            .await
        }
        Command::Chaos {
            seed,
            leads,
            kills,
            dial_fault_rate,
            callback_drop_rate,
            callback_duplicate_rate,
            callback_reorder_rate,
            provider_failure_rate,
            concurrency,
            timeout,
            database_url,
        } => {
            use voice_runtime::sandbox::exotel::CallbackFaultRates;
            let options = voice_runtime::chaos::ChaosOptions {
                seed,
                leads,
                kills,
                rates: voice_runtime::chaos::FaultRates {
                    dial: dial_fault_rate,
                    callbacks: CallbackFaultRates {
                        drop: callback_drop_rate,
                        duplicate: callback_duplicate_rate,
                        reorder: callback_reorder_rate,
                    },
                    provider: provider_failure_rate,
                },
                database_url,
                concurrency,
                timeout: std::time::Duration::from_secs(timeout),
                server_exe: None,
                quiet: false,
            };
            chaos(options).await
        }
        Command::BenchImport { rows, database_url } => {
            voice_runtime::bench::import::run(rows, database_url.as_deref()).await
        }
        Command::BenchScheduler {
            leads,
            concurrency,
            database_url,
        } => {
            voice_runtime::bench::scheduler::run(leads, concurrency, database_url.as_deref()).await
        }
        Command::BenchCluster {
            nodes,
            leads,
            runs,
            calls_per_node,
            ring_ms,
            database_url,
        } => bench_cluster(nodes, leads, runs, calls_per_node, ring_ms, database_url).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn fakes(
    dg: u16,
    ai: u16,
    el: u16,
    latency: u64,
    jitter: u64,
    failures: f64,
    unkind: voice_runtime::sandbox::fakes::knob_args::FakeKnobArgs,
) -> anyhow::Result<()> {
    use voice_runtime::sandbox::fakes::{
        deepgram::FakeDeepgram, elevenlabs::FakeElevenLabs, openai::FakeOpenAi,
    };
    let deepgram = FakeDeepgram::start(dg).await?;
    let openai = FakeOpenAi::start(ai)?;
    let elevenlabs = FakeElevenLabs::start(el)?;
    for knobs in [&deepgram.knobs, &openai.knobs, &elevenlabs.knobs] {
        knobs.latency(latency, jitter).failure_rate(failures);
    }
    unkind.apply(&deepgram.knobs, &openai.knobs, &elevenlabs.knobs);
    println!("DEEPGRAM_URL={}", deepgram.url);
    println!("OPENAI_BASE_URL={}", openai.base_url);
    println!("ELEVENLABS_BASE_URL={}", elevenlabs.base_url);
    println!("(any non-empty API key works; speech is the sandbox voice, see src/sandbox/voice_codec.rs)");
    println!("(GET /_fake/stats on each port: open streams and injected faults)");
    futures::future::pending::<()>().await;
    Ok(())
}

/// Runs the chaos run, prints its report, and fails (exit 1) on any invariant violation.
async fn chaos(options: voice_runtime::chaos::ChaosOptions) -> anyhow::Result<()> {
    let report = voice_runtime::chaos::run(options).await?;
    println!("\n{}", report.render());
    match report.violations() {
        0 => Ok(()),
        n => anyhow::bail!("{n} invariant violation(s)"),
    }
}

async fn bench_cluster(
    nodes: Vec<usize>,
    leads: usize,
    runs: usize,
    calls_per_node: u32,
    ring_ms: u64,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    use voice_runtime::bench::cluster;
    if nodes.is_empty() || nodes.contains(&0) || runs == 0 || leads == 0 {
        anyhow::bail!("--nodes needs counts of 1 or more, --runs and --leads at least 1");
    }
    let options = cluster::ClusterOptions {
        nodes,
        leads,
        runs,
        calls_per_node,
        ring: std::time::Duration::from_millis(ring_ms),
        admin_url: cluster::admin_url(database_url)?,
        server_exe: None,
    };
    cluster::run(&options).await.map(|_| ())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.api_key.is_none() {
        tracing::warn!("API_KEY is not set: the REST API answers loopback clients only");
    }
    if settings.webhook_secret_generated {
        tracing::info!(
            webhook_secret = %settings.webhook_secret,
            "WEBHOOK_SECRET not set; generated one for this run"
        );
    }
    tracing::info!(database = %settings.database_url.redacted(), "opening the database");
    let bind = settings.bind_addr;
    let app = Application::build(settings).await?;
    tracing::info!(%bind, port = app.port(), "voice-runtime listening");
    app.run_until_signalled().await?;
    tracing::info!("voice-runtime stopped");
    Ok(())
}
