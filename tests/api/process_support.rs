//! The real `voice-runtime serve` binary as a child process, wired to the Exotel simulator and
//! the provider fakes running in the test process: for what only a process can show (signals,
//! SIGKILL, exit codes, a restart on the same database).

use std::collections::HashMap;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::sandbox::exotel::{ExotelSimulator, Outcome, VoiceSetup};
use voice_runtime::sandbox::fakes::deepgram::FakeDeepgram;
use voice_runtime::sandbox::fakes::elevenlabs::FakeElevenLabs;
use voice_runtime::sandbox::fakes::openai::FakeOpenAi;
use voice_runtime::sandbox::persona::{Persona, Reply};

use voice_runtime::config::DatabaseUrl;
use voice_runtime::store::{LeadFilter, Store};

use crate::engine_support::{phone, simulator};
use crate::helpers::{database_url, Backend};

/// Everything outside the server process: simulator, fakes, database, spool.
pub struct World {
    pub sim: ExotelSimulator,
    pub database_url: String,
    pub dir: Arc<tempfile::TempDir>,
    pub client: reqwest::Client,
    _fakes: (FakeDeepgram, FakeOpenAi, FakeElevenLabs),
}

pub struct Server {
    child: Child,
    pub base: String,
    /// Where its logs (stderr) go; tests read them. With `TEST_LOG` set they are also printed
    /// when the server stops (shown for a failing test, or all with `--nocapture`).
    pub log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("TEST_LOG").is_some() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- server log ({}) ---\n{log}", self.base);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn world(backend: Backend) -> World {
    world_ringing(backend, 10).await
}

/// As `world`, the simulated phones ringing `ring_ms` before their outcome.
pub async fn world_ringing(backend: Backend, ring_ms: u64) -> World {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let database_url = database_url(backend, &dir).await;
    let fakes = (
        FakeDeepgram::start(0).await.unwrap(),
        FakeOpenAi::start(0).unwrap(),
        FakeElevenLabs::start(0).unwrap(),
    );
    World {
        sim: simulator(ring_ms, 10),
        database_url,
        dir,
        client: reqwest::Client::new(),
        _fakes: fakes,
    }
}

impl World {
    /// The fake ElevenLabs the server speaks through (its knobs inject failures).
    pub fn elevenlabs(&self) -> &FakeElevenLabs {
        &self._fakes.2
    }

    /// The fake Deepgram the server listens through.
    pub fn deepgram(&self) -> &FakeDeepgram {
        &self._fakes.0
    }

    /// The fake LLM the server thinks with.
    pub fn openai(&self) -> &FakeOpenAi {
        &self._fakes.1
    }

    /// Starts `voice-runtime serve` on this world's database; returns once it answers.
    pub async fn serve(&self, extra: &[(&str, &str)]) -> Server {
        let port = free_port();
        let (dg, ai, el) = &self._fakes;
        let mut env: HashMap<&str, String> = HashMap::from([
            ("BIND_ADDR", format!("127.0.0.1:{port}")),
            ("DATABASE_URL", self.database_url.clone()),
            ("WEBHOOK_SECRET", "test-secret".into()),
            ("NODE_ID", "process-node".into()),
            (
                "SPOOL_DIR",
                self.dir.path().join("spool").display().to_string(),
            ),
            ("PLAYBOOKS_DIR", "tests/fixtures/playbooks".into()),
            (
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            ),
            ("SCHEDULER_POLL_SECONDS", "1".into()),
            ("EXOTEL_ACCOUNT_SID", "sim-account".into()),
            ("EXOTEL_API_KEY", "sim-key".into()),
            ("EXOTEL_API_TOKEN", "sim-token".into()),
            ("EXOTEL_VIRTUAL_NUMBER", "+918000000000".into()),
            ("EXOTEL_EXOPHLO_ID", "424242".into()),
            ("EXOTEL_BASE_URL", self.sim.base_url.clone()),
            ("DEEPGRAM_URL", dg.url.clone()),
            ("DEEPGRAM_API_KEY", "dg-test".into()),
            ("OPENAI_BASE_URL", ai.base_url.clone()),
            ("OPENAI_API_KEY", "sk-test".into()),
            ("ELEVENLABS_BASE_URL", el.base_url.clone()),
            ("ELEVENLABS_API_KEY", "xi-test".into()),
        ]);
        for (k, v) in extra {
            env.insert(*k, v.to_string());
        }
        let log = self.dir.path().join(format!("server-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_voice-runtime"))
            .arg("serve")
            .env_clear()
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(&log).expect("the log file"),
            ))
            .spawn()
            .expect("the binary starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let health = server.url("/health");
        crate::engine_support::eventually(60, "the server answers", || async {
            self.client
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        self.talk_with(&server, chatty());
        server
    }

    /// Who answers the phone on calls placed by `server`.
    pub fn talk_with(&self, server: &Server, persona: Persona) {
        self.sim.set_voice(VoiceSetup {
            voicebot_url: server.url("/exotel/voicebot-url?token=test-secret"),
            personas: HashMap::new(),
            default_persona: persona,
            sample_rate: 8000,
            recordings_dir: None,
            time_limit: Duration::from_secs(120),
            measure: false,
        });
    }

    /// The server's `/metrics` text (empty when it does not answer).
    pub async fn metrics(&self, server: &Server) -> String {
        match self.client.get(server.url("/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// One series' value in `/metrics`, named with its labels as the text shows them
    /// (`voice_actors{kind="call"}`); `None` when it is not there.
    pub async fn metric(&self, server: &Server, series: &str) -> Option<f64> {
        metric_in(&self.metrics(server).await, series)
    }

    pub async fn get(&self, server: &Server, path: &str) -> Value {
        self.client
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A running campaign of `n` leads, open around the clock (the server's clock is real, so
    /// the campaign is transactional: the legal floor for promotional calls would shut it at night).
    pub async fn campaign(&self, server: &Server, n: usize, settings: Value) -> i64 {
        let mut csv = String::from("name,phone\n");
        for i in 0..n {
            csv.push_str(&format!("Lead {i},{}\n", phone(i)));
            self.sim.script(&phone(i), vec![Outcome::Answer]);
        }
        self.campaign_from_csv(server, &csv, settings).await
    }

    /// As `campaign`, with these leads (their phones scripted by the caller).
    pub async fn campaign_from_csv(&self, server: &Server, csv: &str, settings: Value) -> i64 {
        let mut body = json!({"name": "process test", "playbook": "test_short",
            "calling_hours_start": 0, "calling_hours_end": 24, "calling_days": "Mon-Sun",
            "timezone": "UTC", "transactional": true});
        if let (Some(b), Some(s)) = (body.as_object_mut(), settings.as_object()) {
            b.extend(s.clone());
        }
        let created = self
            .client
            .post(server.url("/campaigns"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let id = created.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap();
        let uploaded = self
            .client
            .post(server.url(&format!("/campaigns/{id}/upload-csv")))
            .header("Content-Type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), 200);
        let started = self
            .client
            .post(server.url(&format!("/campaigns/{id}/start")))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 200, "{:?}", started.text().await);
        id
    }

    /// Waits until a conversation is running on the server (its media socket is up).
    pub async fn until_live(&self, server: &Server) {
        crate::engine_support::eventually(60, "a live conversation", || async {
            let s = self.get(server, "/debug/sessions").await;
            s["sessions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|c| c["conversation"]["stage"].is_string()))
        })
        .await;
    }

    /// The campaign's exported calls that have a saved conversation.
    pub async fn conversations(&self, server: &Server, campaign_id: i64) -> Vec<Value> {
        let calls = self
            .get(server, &format!("/exports/calls/{campaign_id}"))
            .await;
        calls
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["final_outcome"].is_string())
            .collect()
    }
}

/// One series' value in a `/metrics` text (see `World::metric`).
pub fn metric_in(metrics: &str, series: &str) -> Option<f64> {
    let needle = format!("{series} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&needle))
        .and_then(|v| v.trim().parse().ok())
}

impl World {
    /// The database as the server left it, read without a server (which would resume dialing).
    pub async fn store(&self) -> Store {
        Store::connect(&DatabaseUrl::parse(&self.database_url).unwrap())
            .await
            .unwrap()
    }

    /// Saved conversations of a campaign, as exported: outcome and transcript.
    pub async fn saved_conversations(&self, campaign_id: i64) -> Vec<Value> {
        let store = self.store().await;
        let calls = store.export_calls_page(campaign_id, 0, 100).await.unwrap();
        store.close().await;
        calls
            .into_iter()
            .filter(|c| c.final_outcome.is_some())
            .map(|c| {
                json!({"call_sid": c.call_sid, "final_outcome": c.final_outcome,
                    "transcript": c.transcript.map(|t| t.0)})
            })
            .collect()
    }

    /// Every lead's status, in id order.
    pub async fn lead_statuses(&self, campaign_id: i64) -> Vec<String> {
        let store = self.store().await;
        let filter = LeadFilter {
            status: None,
            qualified: None,
        };
        let (leads, _) = store
            .list_leads(campaign_id, &filter, 100, 0)
            .await
            .unwrap();
        store.close().await;
        leads.into_iter().map(|l| l.status).collect()
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGKILL: the process dies at once, with no chance to save anything.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits (at most `seconds`) for the process to exit by itself.
    pub async fn exit_status(&mut self, seconds: u64) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server did not exit"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A caller who keeps the conversation going without ever giving a fact.
pub fn chatty() -> Persona {
    let lines = ["hmm, tell me more", "I am not sure yet", "go on"];
    let replies = (0..200)
        .map(|i| Reply::Say(lines[i % lines.len()].to_string()))
        .collect();
    let mut p = Persona::new("chatty", replies);
    p.think = Duration::from_millis(300);
    p
}
