//! Process control: the server under test is a real `voice-runtime serve` child process, as
//! in production, so that a kill is a real SIGKILL — no destructor, no flush, no goodbye —
//! and a restart is a new process on the same database and port. The chaos run and the
//! cluster benchmark (`bench::cluster`) both drive their servers through this.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `serve` child; killed when dropped.
pub struct ServerProcess {
    exe: PathBuf,
    env: Vec<(String, String)>,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts `exe serve` with `env` (which must bind `127.0.0.1:{port}`) and waits until it
    /// answers `/health`. Its output goes to `log` (appended across restarts).
    pub async fn start(
        exe: PathBuf,
        env: Vec<(String, String)>,
        port: u16,
        log: PathBuf,
    ) -> anyhow::Result<ServerProcess> {
        let mut server = ServerProcess {
            exe,
            env,
            port,
            log,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The running process's id (for its CPU time in `/proc`); `None` once killed.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL (what `Child::kill` sends on Unix), and the zombie reaped.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new process on the same database and port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn().await
    }

    /// Starts the process; one that exits at start (its port still held after a kill, say) is
    /// tried again, up to five times.
    async fn spawn(&mut self) -> anyhow::Result<()> {
        for _ in 0..4 {
            match self.spawn_once().await {
                Err(e) if e.is::<ExitedAtStart>() => {
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
                other => return other,
            }
        }
        self.spawn_once().await
    }

    async fn spawn_once(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.exe)
            .arg("serve")
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_healthy().await
    }

    /// Until `/health` answers 200. The port may still be held for a moment after a kill, and
    /// start-up runs the migrations; 90 s covers a loaded machine.
    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let url = format!("{}/health", self.base_url());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(ExitedAtStart(format!(
                        "the server exited at start ({status}); its log: {}",
                        self.log.display()
                    ))
                    .into());
                }
            }
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "the server did not become healthy; its log: {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Where a `serve` child finds everything outside itself: its database, and the simulated
/// Exotel account and provider fakes running in the driving command's process.
#[derive(Debug, Clone, Copy)]
pub struct Wiring<'a> {
    pub port: u16,
    pub database_url: &'a str,
    pub webhook_secret: &'a str,
    pub api_key: &'a str,
    pub node_id: &'a str,
    /// The simulator's base URL, account sid, API key and token.
    pub exotel: (&'a str, &'a str, &'a str, &'a str),
    /// Deepgram's URL, OpenAI's and ElevenLabs' base URLs.
    pub fakes: (&'a str, &'a str, &'a str),
}

impl Wiring<'_> {
    /// The child's environment: loopback only (so `serve` needs no public-exposure settings),
    /// logs at warn, the playbooks of this source tree, then `extra` (the caller's tuning).
    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let base = format!("http://127.0.0.1:{}", self.port);
        let bind = format!("127.0.0.1:{}", self.port);
        let playbooks = playbooks_dir();
        let (exotel, sid, key, token) = self.exotel;
        let (deepgram, openai, elevenlabs) = self.fakes;
        [
            ("BIND_ADDR", bind.as_str()),
            ("OUR_BASE_URL", &base),
            ("DATABASE_URL", self.database_url),
            ("WEBHOOK_SECRET", self.webhook_secret),
            ("API_KEY", self.api_key),
            ("NODE_ID", self.node_id),
            ("RUST_LOG", "warn"),
            ("PLAYBOOKS_DIR", &playbooks),
            ("EXOTEL_ACCOUNT_SID", sid),
            ("EXOTEL_API_KEY", key),
            ("EXOTEL_API_TOKEN", token),
            ("EXOTEL_VIRTUAL_NUMBER", "+918000000000"),
            ("EXOTEL_EXOPHLO_ID", "simulated-flow"),
            ("EXOTEL_BASE_URL", exotel),
            ("DEEPGRAM_URL", deepgram),
            ("DEEPGRAM_API_KEY", "fake"),
            ("OPENAI_BASE_URL", openai),
            ("OPENAI_API_KEY", "fake"),
            ("ELEVENLABS_BASE_URL", elevenlabs),
            ("ELEVENLABS_API_KEY", "fake"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// `playbooks/` of the working directory, else of the source tree this was built from.
fn playbooks_dir() -> String {
    let here = Path::new("playbooks");
    let dir = if here.is_dir() {
        std::fs::canonicalize(here).unwrap_or_else(|_| here.to_path_buf())
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks")
    };
    dir.display().to_string()
}

#[derive(Debug)]
struct ExitedAtStart(String);

impl std::fmt::Display for ExitedAtStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExitedAtStart {}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
