//! `spawn_app`: the application on port 0 with a fresh database, and a client for it.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};
use voice_runtime::api::AppState;
use voice_runtime::clock::{Clock, SystemClock};
use voice_runtime::config::Settings;
use voice_runtime::startup::{Application, StopHandle};

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Expands each named `async fn(Backend)` into one test per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_rt::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
                $crate::helpers::stop_apps().await;
            }
            #[actix_rt::test]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await;
                $crate::helpers::stop_apps().await;
            }
        }
    )*};
}

thread_local! {
    /// The apps this test started (each test runs on its own thread and actix System).
    static STARTED: std::cell::RefCell<Vec<StopHandle>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Stops every app the test started, inside its runtime, and lets in-flight work wind down.
/// Without it the System is dropped with campaign rounds still holding pooled database
/// connections, whose `Drop` needs a Tokio context that is already gone (a panic at teardown).
pub async fn stop_apps() {
    let started = STARTED.with(|s| std::mem::take(&mut *s.borrow_mut()));
    for app in started {
        app.stop().await;
    }
    actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub api_key: Option<String>,
    pub stop: StopHandle,
    pub database_url: String,
    _dir: Arc<tempfile::TempDir>,
}

impl TestApp {
    /// A new pool on the app's database. After a drain, use it rather than the app's own:
    /// the app's pooled connections may belong to runtimes the drain stopped.
    pub async fn fresh_store(&self) -> voice_runtime::store::Store {
        let url = voice_runtime::config::DatabaseUrl::parse(&self.database_url).unwrap();
        voice_runtime::store::Store::connect(&url).await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    fn authorised(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.client.get(self.url(path)))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.client.post(self.url(path)))
    }

    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.client.patch(self.url(path)))
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.client.delete(self.url(path)))
    }

    /// GETs `path` and reads its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// Creates a campaign with `body` and returns its JSON.
    pub async fn create_campaign(&self, body: Value) -> Value {
        let response = self
            .post("/campaigns")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 201, "creating {body}");
        response.json().await.expect("json")
    }

    pub async fn campaign_id(&self) -> i64 {
        self.create_campaign(json!({"name": "Test campaign"})).await["id"]
            .as_i64()
            .expect("id")
    }

    /// Uploads CSV text as a `text/csv` body; returns status and JSON.
    pub async fn upload_csv(&self, campaign_id: i64, csv: &str) -> (u16, Value) {
        let response = self
            .post(&format!("/campaigns/{campaign_id}/upload-csv"))
            .header("Content-Type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }
}

/// Reads a JSON error body and checks its shape: `{"error": {"code", "message", "field"?}}`.
pub async fn error_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.expect("error body is JSON");
    let error = &body["error"];
    assert!(error["code"].is_string(), "{body}");
    assert!(error["message"].is_string(), "{body}");
    error.clone()
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Starts the app with extra environment variables (e.g. `API_KEY`).
pub async fn spawn_app_with(backend: Backend, vars: &[(&str, &str)]) -> TestApp {
    spawn_app_with_clock(backend, vars, Arc::new(SystemClock)).await
}

pub async fn spawn_app_with_clock(
    backend: Backend,
    vars: &[(&str, &str)],
    clock: Arc<dyn Clock>,
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = database_url(backend, &dir).await;
    spawn_app_on(&url, dir, vars, clock).await
}

/// Starts the app on an existing database (a restart of "the process").
pub async fn spawn_app_on(
    database_url: &str,
    dir: Arc<tempfile::TempDir>,
    vars: &[(&str, &str)],
    clock: Arc<dyn Clock>,
) -> TestApp {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    env.insert("DATABASE_URL".into(), database_url.to_string());
    env.insert("WEBHOOK_SECRET".into(), "test-secret".into());
    env.insert("NODE_ID".into(), "test-node".into());
    env.insert(
        "SPOOL_DIR".into(),
        dir.path().join("spool").display().to_string(),
    );
    for (k, v) in vars {
        env.insert(k.to_string(), v.to_string());
    }
    let api_key = env.get("API_KEY").cloned();
    let settings = Settings::from_map(&env).expect("test settings are valid");
    // TEST_LOG=1 shows the application's logs (RUST_LOG filters them), as in zero2prod.
    if std::env::var_os("TEST_LOG").is_some() {
        voice_runtime::telemetry::init(settings.log_format);
    }
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let stop = app.stop_handle();
    STARTED.with(|s| s.borrow_mut().push(stop.clone()));
    actix_rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        state,
        api_key,
        stop,
        database_url: database_url.to_string(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn dir(&self) -> Arc<tempfile::TempDir> {
        self._dir.clone()
    }
}

/// A fresh database: a SQLite file in the test's temp dir, or a new PostgreSQL database on
/// the server named by `TEST_DATABASE_URL` (scripts/test.sh starts one).
pub async fn database_url(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("TEST_DATABASE_URL").expect(
                "TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
            );
            let server = voice_runtime::store::PostgresServer::connect(&admin)
                .await
                .expect("connect to TEST_DATABASE_URL");
            let url = server
                .create_database("test")
                .await
                .expect("create test database");
            server.close().await;
            url
        }
    }
}
