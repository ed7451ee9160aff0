//! Process control: the server under test is a real `voice-runtime serve` child process, as
//! in production, so that a kill is a real SIGKILL — no destructor, no flush, no goodbye —
//! and a restart is a new process on the same database and port.

use std::path::PathBuf;
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
