//! The `voice-runtime` command: `serve` runs the runtime; `bench-import` measures CSV import.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use voice_runtime::config::Settings;
use voice_runtime::startup::Application;

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
    /// Run the REST API (and, as they land, the campaign engine and media socket).
    Serve,
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
    voice_runtime::telemetry::init(settings.log_format);
    let result = match cli.command {
        Command::Serve => serve(settings).await,
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
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
    app.run_until_stopped().await?;
    Ok(())
}
