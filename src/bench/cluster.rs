//! `voice-runtime bench-cluster`: dials per second and the most calls live at once for 1, 2, 3…
//! `serve` processes on one PostgreSQL, with the database's share of the CPU.
//!
//! Each run gets a fresh database on the server, a fresh Exotel simulator in this process, and
//! N real `serve` children of this binary on that database (`chaos::server_process`, as the
//! chaos run's server). One campaign of L leads is started through node 1; the others take it
//! up at their next heartbeat, as a cluster does. Every phone rings briefly and is not
//! answered, and each lead has one attempt: the work measured is claiming, dialing and closing
//! calls — the nodes' coordination through the database — not conversations. The campaign's
//! and the account's caps are set far above what the nodes hold, so each node's own
//! `MAX_CONCURRENT_CALLS` is the limit and a node more should add its share.
//!
//! CPU comes from `/proc` (`process_cpu`): the nodes' own, and every process of the PostgreSQL
//! server (found from our connection's backend: its parent is the postmaster), read when the
//! campaign is started and when it completes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::process_cpu::{cpu_ms, name, parent, tree_cpu_ms};
use crate::api_client::Api;
use crate::chaos::server_process::{ServerProcess, Wiring};
use crate::config::DatabaseUrl;
use crate::sandbox::exotel::{ExotelSimulator, Outcome, SimulatorConfig};
use crate::sandbox::fakes::deepgram::FakeDeepgram;
use crate::sandbox::fakes::elevenlabs::FakeElevenLabs;
use crate::sandbox::fakes::openai::FakeOpenAi;
use crate::store::{PostgresServer, Store};

const ACCOUNT: (&str, &str, &str) = ("bench", "bench-key", "bench-token");
const API_KEY: &str = "bench";
/// The campaign's and the account's caps: far above any node count × calls per node here.
const HIGH_CAP: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Node counts to measure, e.g. 1, 2, 3.
    pub nodes: Vec<usize>,
    pub leads: usize,
    /// Runs of each node count.
    pub runs: usize,
    /// Each node's `MAX_CONCURRENT_CALLS`.
    pub calls_per_node: u32,
    /// How long each phone rings before the call ends unanswered.
    pub ring: Duration,
    /// A PostgreSQL URL allowed to create databases.
    pub admin_url: String,
    /// The `voice-runtime` binary to run as the nodes; this executable when `None` (tests
    /// pass the binary Cargo built, the test harness not being one).
    pub server_exe: Option<PathBuf>,
}

/// The PostgreSQL URL to run on: `--database-url`, else `DATABASE_URL`, else
/// `TEST_DATABASE_URL`; a cluster needs PostgreSQL (SQLite is one node's embedded store).
pub fn admin_url(flag: Option<String>) -> anyhow::Result<String> {
    let url = flag
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .or_else(|| std::env::var("TEST_DATABASE_URL").ok())
        .filter(|u| !u.trim().is_empty());
    match url {
        Some(url) if url.starts_with("postgres") => Ok(url),
        Some(_) => anyhow::bail!(
            "bench-cluster needs PostgreSQL, not SQLite (one node's embedded store): pass \
             --database-url postgres://…"
        ),
        None => anyhow::bail!(
            "bench-cluster needs a PostgreSQL server: pass --database-url postgres://… or set \
             DATABASE_URL (`bash scripts/postgres.sh` starts a throwaway one and prints its URL)"
        ),
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunFigures {
    pub nodes: usize,
    pub run: usize,
    /// From the start request to the campaign's COMPLETED.
    pub wall: Duration,
    /// Connect requests the simulator accepted.
    pub dials: usize,
    /// Numbers the simulator saw dialed more than once (a coordination bug: must be 0).
    pub dialed_twice: usize,
    /// The most calls live at once, as the simulator counted them.
    pub peak_live: usize,
    /// Attempts each node claimed, by `NODE_ID`.
    pub dials_by_node: Vec<(String, i64)>,
    /// CPU of the `serve` processes over the run, s.
    pub nodes_cpu: f64,
    /// CPU of every PostgreSQL process over the run, s; `None` when the server is not a
    /// process of this machine.
    pub database_cpu: Option<f64>,
    /// Other clients connected to the server when the campaign completed (their CPU is in
    /// `database_cpu`).
    pub other_clients: i64,
}

impl RunFigures {
    pub fn dials_per_second(&self) -> f64 {
        self.dials as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// PostgreSQL's share of the CPU the nodes and the database used together.
    pub fn database_share(&self) -> Option<f64> {
        let db = self.database_cpu?;
        Some(db / (db + self.nodes_cpu).max(f64::EPSILON))
    }

    /// CPU ms per dial: the nodes', the database's.
    fn cpu_per_dial_ms(&self) -> (f64, Option<f64>) {
        let per = |s: f64| s * 1000.0 / self.dials.max(1) as f64;
        (per(self.nodes_cpu), self.database_cpu.map(per))
    }
}

/// Runs every node count `runs` times (round-robin, so a change in the machine's background
/// load spreads over all counts), printing each run and then the summary.
pub async fn run(options: &ClusterOptions) -> anyhow::Result<Vec<RunFigures>> {
    let server = PostgresServer::connect(&options.admin_url).await?;
    let postmaster = postmaster(&server).await;
    let exe = match &options.server_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe()?,
    };
    let dir = std::env::temp_dir().join(format!(
        "voice-runtime-bench-cluster-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    // Never called here (no call is answered) but `serve` needs provider URLs, and renders
    // its fallback lines through ElevenLabs at start: fakes in this process, not the real ones.
    let fakes = (
        FakeDeepgram::start(0).await?,
        FakeOpenAi::start(0)?,
        FakeElevenLabs::start(0)?,
    );
    let fake_urls = (
        fakes.0.url.as_str(),
        fakes.1.base_url.as_str(),
        fakes.2.base_url.as_str(),
    );

    println!(
        "cluster bench · {} leads · {} calls per node · phones ring {:.1} s, unanswered · {} · {} run(s) of {:?} nodes",
        options.leads,
        options.calls_per_node,
        options.ring.as_secs_f64(),
        DatabaseUrl::parse(&options.admin_url)
            .map(|u| u.redacted().to_string())
            .unwrap_or_default(),
        options.runs,
        options.nodes
    );
    if postmaster.is_none() {
        println!("PostgreSQL's CPU: n/a (the server is not a process of this machine)");
    }
    let bench = Bench {
        options,
        exe: &exe,
        dir: &dir,
        fakes: fake_urls,
        postmaster,
        server: &server,
    };
    let mut all = Vec::new();
    for run in 1..=options.runs {
        for &nodes in &options.nodes {
            let database_url = server.create_database("bench_cluster").await?;
            let figures = bench.run_once(nodes, run, &database_url).await;
            // Dropped whatever happened: the nodes are gone by now (killed on return).
            if let Err(e) = server.drop_database(&database_url).await {
                tracing::warn!(error = %e, "could not drop the run's database");
            }
            let figures = figures?;
            println!("{}", render_run(&figures));
            all.push(figures);
        }
    }
    println!("\n{}", render_summary(&all, &options.nodes));
    server.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(all)
}

/// The postmaster: the parent of the server process serving our connection, if that process
/// is on this machine and is PostgreSQL (a server elsewhere, or in a container with its own
/// process ids, is not).
async fn postmaster(server: &PostgresServer) -> Option<u32> {
    let backend = server.backend_pid().await.ok()?;
    let is_postgres = |pid: u32| name(pid).is_some_and(|n| n.starts_with("postgres"));
    if !is_postgres(backend) {
        return None;
    }
    parent(backend).filter(|pid| is_postgres(*pid))
}

/// What every run shares: the binary, the logs' directory, the fakes, the database server.
struct Bench<'a> {
    options: &'a ClusterOptions,
    exe: &'a PathBuf,
    dir: &'a std::path::Path,
    fakes: (&'a str, &'a str, &'a str),
    postmaster: Option<u32>,
    server: &'a PostgresServer,
}

impl Bench<'_> {
    /// One campaign dialed by `nodes` nodes on the fresh database `database_url`.
    async fn run_once(
        &self,
        nodes: usize,
        run: usize,
        database_url: &str,
    ) -> anyhow::Result<RunFigures> {
        let options = self.options;
        let mut sim_config = SimulatorConfig::new(ACCOUNT.0, ACCOUNT.1, ACCOUNT.2);
        sim_config.calls_per_minute = None;
        sim_config.scenario.default = Outcome::NoAnswer;
        // The simulator lets an unanswered phone ring twice its ring time.
        sim_config.scenario.ring_time = options.ring / 2;
        let sim = ExotelSimulator::start(sim_config)?;

        let mut servers = Vec::new();
        for n in 1..=nodes {
            servers.push(self.start_node(&sim, database_url, n).await?);
        }
        let api = Api::new(&servers[0].base_url(), Some(API_KEY.into()));
        let mut csv = String::from("name,phone\n");
        for i in 0..options.leads {
            csv.push_str(&format!("Lead {i},+9170{i:08}\n"));
        }
        // Transactional and open around the clock: the bench runs at any hour.
        let campaign = json!({"name": format!("cluster bench, {nodes} node(s)"),
            "max_concurrent_calls": HIGH_CAP, "max_attempts": 1,
            "calling_hours_start": 0, "calling_hours_end": 24, "calling_days": "Mon-Sun",
            "timezone": "UTC", "transactional": true});
        let id = api.post("/campaigns", &campaign).await?["id"]
            .as_i64()
            .unwrap_or_default();
        api.upload(&format!("/campaigns/{id}/upload-csv"), &csv)
            .await?;

        let pids: Vec<u32> = servers.iter().filter_map(ServerProcess::pid).collect();
        let nodes_cpu = || pids.iter().map(|pid| cpu_ms(*pid)).sum::<u64>();
        let database_cpu = || self.postmaster.and_then(tree_cpu_ms);
        let (nodes_before, database_before) = (nodes_cpu(), database_cpu());
        let started = Instant::now();
        api.post(&format!("/campaigns/{id}/start"), &json!({}))
            .await?;
        wait_completed(&api, id, options.leads).await?;
        let wall = started.elapsed();
        let (nodes_after, database_after) = (nodes_cpu(), database_cpu());

        let other_clients = self.server.other_clients(database_url).await?;
        let url = DatabaseUrl::parse(database_url).map_err(anyhow::Error::msg)?;
        let store = Store::connect(&url).await?;
        let dials_by_node = store.claims_by_node().await?;
        store.close().await;
        drop(servers);
        sim.stop().await;

        let dials = sim.dials();
        let mut numbers: Vec<&str> = dials.iter().map(|d| d.from.as_str()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        Ok(RunFigures {
            nodes,
            run,
            wall,
            dials: dials.len(),
            dialed_twice: dials.len() - numbers.len(),
            peak_live: sim.max_concurrent(),
            dials_by_node,
            nodes_cpu: nodes_after.saturating_sub(nodes_before) as f64 / 1000.0,
            database_cpu: database_before
                .zip(database_after)
                .map(|(b, a)| a.saturating_sub(b) as f64 / 1000.0),
            other_clients,
        })
    }

    /// Node `n` of a run: a `serve` child on the run's database, its own port, spool and log.
    async fn start_node(
        &self,
        sim: &ExotelSimulator,
        database_url: &str,
        n: usize,
    ) -> anyhow::Result<ServerProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let node_id = format!("node-{n}");
        let spool = self.dir.join(format!("{node_id}-spool"));
        let per_node = self.options.calls_per_node.to_string();
        let high_cap = HIGH_CAP.to_string();
        let wiring = Wiring {
            port,
            database_url,
            webhook_secret: "bench-secret",
            api_key: API_KEY,
            node_id: &node_id,
            exotel: (&sim.base_url, ACCOUNT.0, ACCOUNT.1, ACCOUNT.2),
            fakes: self.fakes,
        };
        let env = wiring.env(&[
            ("MAX_CONCURRENT_CALLS", &per_node),
            // Set, as a cluster would have it, but never the limit.
            ("EXOTEL_MAX_CONCURRENT_CALLS", &high_cap),
            ("EXOTEL_CALLS_PER_MINUTE", "100000"),
            // The others take up a campaign started through node 1 within a second.
            ("NODE_HEARTBEAT_SECONDS", "1"),
            ("NODE_LEASE_SECONDS", "10"),
            ("SCHEDULER_POLL_SECONDS", "1"),
            ("SPOOL_DIR", &spool.display().to_string()),
        ]);
        let log = self.dir.join(format!("{node_id}.log"));
        ServerProcess::start(self.exe.clone(), env, port, log).await
    }
}

/// Until the campaign is COMPLETED; a campaign that pauses or stalls is an error.
async fn wait_completed(api: &Api, id: i64, leads: usize) -> anyhow::Result<()> {
    // A bound, not a figure: ten times a slow machine's pace.
    let deadline = Instant::now() + Duration::from_secs(60 + leads as u64 / 2);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let campaign = api.get(&format!("/campaigns/{id}")).await?;
        match campaign["status"].as_str() {
            Some("COMPLETED") => return Ok(()),
            Some("PAUSED") => anyhow::bail!(
                "the campaign paused: {}",
                campaign["status_reason"]
                    .as_str()
                    .unwrap_or("no reason given")
            ),
            _ if Instant::now() > deadline => anyhow::bail!(
                "the campaign did not complete in time ({} of {leads} leads done)",
                campaign["leads_completed"]
            ),
            _ => {}
        }
    }
}

fn render_run(f: &RunFigures) -> String {
    let spread: Vec<String> = f.dials_by_node.iter().map(|(_, n)| n.to_string()).collect();
    let (nodes_ms, database_ms) = f.cpu_per_dial_ms();
    let mut line = format!(
        "run {} · {} node(s) · {:>6.2} s · {:>6.1} dials/s · peak {:>3} live · dials per node {} · CPU nodes {:.2} s, PostgreSQL {} · per dial {:.2} + {} ms",
        f.run,
        f.nodes,
        f.wall.as_secs_f64(),
        f.dials_per_second(),
        f.peak_live,
        spread.join("/"),
        f.nodes_cpu,
        f.database_cpu.map_or("n/a".into(), |s| format!(
            "{s:.2} s ({:.0} %)",
            f.database_share().unwrap_or(0.0) * 100.0
        )),
        nodes_ms,
        database_ms.map_or("n/a".into(), |ms| format!("{ms:.2}")),
    );
    if f.dialed_twice > 0 {
        line.push_str(&format!(" · ⚠ {} number(s) dialed twice", f.dialed_twice));
    }
    if f.other_clients > 0 {
        line.push_str(&format!(
            " · ⚠ {} other client(s) on the server: its CPU includes theirs",
            f.other_clients
        ));
    }
    line
}

/// Per node count: the median of the runs, with their min–max.
fn render_summary(all: &[RunFigures], counts: &[usize]) -> String {
    let mut out = format!(
        "{:<6}{:<22}{:<16}{:<22}{:<22}{:<22}{}\n",
        "nodes",
        "dials/s",
        "peak live",
        "wall s",
        "CPU nodes s",
        "CPU PostgreSQL s",
        "database share"
    );
    for &nodes in counts {
        let runs: Vec<&RunFigures> = all.iter().filter(|f| f.nodes == nodes).collect();
        let col = |v: Vec<f64>, decimals: usize| median_spread(v, decimals);
        let database: Vec<f64> = runs.iter().filter_map(|f| f.database_cpu).collect();
        let share: Vec<f64> = runs
            .iter()
            .filter_map(|f| f.database_share().map(|s| s * 100.0))
            .collect();
        out.push_str(&format!(
            "{:<6}{:<22}{:<16}{:<22}{:<22}{:<22}{}\n",
            nodes,
            col(runs.iter().map(|f| f.dials_per_second()).collect(), 1),
            col(runs.iter().map(|f| f.peak_live as f64).collect(), 0),
            col(runs.iter().map(|f| f.wall.as_secs_f64()).collect(), 2),
            col(runs.iter().map(|f| f.nodes_cpu).collect(), 2),
            col(database, 2),
            match col(share, 0) {
                s if s == "n/a" => s,
                s => format!("{s} %"),
            },
        ));
    }
    out.push_str("(median of the runs, min–max in brackets)");
    out
}

/// `median (min–max)`, or the one value, or `n/a`.
fn median_spread(mut v: Vec<f64>, decimals: usize) -> String {
    v.sort_by(f64::total_cmp);
    match v.as_slice() {
        [] => "n/a".into(),
        [one] => format!("{one:.decimals$}"),
        _ => {
            let mid = v.len() / 2;
            let median = if v.len() % 2 == 1 {
                v[mid]
            } else {
                (v[mid - 1] + v[mid]) / 2.0
            };
            format!(
                "{median:.decimals$} ({:.decimals$}–{:.decimals$})",
                v[0],
                v[v.len() - 1]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::median_spread;

    #[test]
    fn median_with_its_spread() {
        assert_eq!(median_spread(vec![3.0, 1.0, 2.0], 1), "2.0 (1.0–3.0)");
        assert_eq!(median_spread(vec![4.0, 1.0], 0), "2 (1–4)");
        assert_eq!(median_spread(vec![1.25], 2), "1.25");
        assert_eq!(median_spread(vec![], 2), "n/a");
    }
}
