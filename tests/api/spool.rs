//! A conversation the database will not take at the call's end is retried, then spooled to a
//! file, and saved from the spool at the next start. Real faults: PostgreSQL refusing
//! connections, SQLite locked by another connection past the busy timeout.

use futures::SinkExt;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use tokio_tungstenite::tungstenite::Message;

use crate::both_backends;
use crate::engine_support::{eventually, restart, EngineApp};
use crate::helpers::Backend;
use crate::live_support::{live_app, LiveApp};
use crate::media_replay::{held_call, open_media, until_conversation_runs};

/// A database made unusable for the app, until `end`.
enum Fault {
    /// Holds SQLite's write lock (`BEGIN EXCLUSIVE`) on its own connection.
    SqliteLocked(sqlx::SqliteConnection),
    /// PostgreSQL refuses new connections to the database and its sessions were terminated.
    PostgresRefusing { admin: sqlx::PgPool, name: String },
}

impl Fault {
    async fn start(backend: Backend, database_url: &str) -> Fault {
        match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(database_url).await.unwrap();
                conn.execute("BEGIN EXCLUSIVE").await.unwrap();
                Fault::SqliteLocked(conn)
            }
            Backend::Postgres => {
                let admin = sqlx::PgPool::connect(&std::env::var("TEST_DATABASE_URL").unwrap())
                    .await
                    .unwrap();
                let name = url::Url::parse(database_url).unwrap().path()[1..].to_string();
                admin
                    .execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false").as_str())
                    .await
                    .unwrap();
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                )
                .bind(&name)
                .execute(&admin)
                .await
                .unwrap();
                Fault::PostgresRefusing { admin, name }
            }
        }
    }

    async fn end(self) {
        match self {
            Fault::SqliteLocked(mut conn) => {
                conn.execute("ROLLBACK").await.unwrap();
                conn.close().await.unwrap();
            }
            Fault::PostgresRefusing { admin, name } => {
                admin
                    .execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true").as_str())
                    .await
                    .unwrap();
                admin.close().await;
            }
        }
    }
}

fn spool_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("spool"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

/// A live call ends while the database is faulty: returns once its record is in the spool.
async fn a_call_spooled_during(backend: Backend) -> (LiveApp, i64, Fault, Value) {
    let live = live_app(backend, 8000).await;
    let (id, sid) = held_call(&live).await;
    let mut socket = open_media(&live, &sid).await;
    until_conversation_runs(&live, &sid).await;

    let fault = Fault::start(backend, &live.e.app.database_url).await;
    let stop = json!({"event": "stop", "stream_sid": format!("S-{sid}")});
    socket
        .send(Message::Text(stop.to_string().into()))
        .await
        .unwrap();
    let dir = live.e.app.dir();
    eventually(120, "the conversation is spooled", || async {
        !spool_files(dir.path()).is_empty()
    })
    .await;
    let files = spool_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let spooled: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(spooled["call_sid"], sid);
    assert!(spooled["transcript"].is_array(), "{spooled}");
    (live, id, fault, spooled)
}

/// The call's export matches the spooled record, the spool is empty and the lead is done.
async fn saved_from_the_spool(app: &EngineApp, id: i64, spooled: &Value) {
    let calls: Vec<Value> = app
        .app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0]["final_outcome"], spooled["final_outcome"],
        "{}",
        calls[0]
    );
    assert_eq!(
        calls[0]["transcript"], spooled["transcript"],
        "{}",
        calls[0]
    );
    assert!(
        spool_files(app.app.dir().path()).is_empty(),
        "the spool file was kept"
    );
    let lead = crate::engine_support::leads(app, id).await[0].clone();
    assert_eq!(lead["status"], "COMPLETED", "{lead}");
}

async fn a_save_the_database_refuses_is_spooled_and_saved_at_the_next_start(backend: Backend) {
    let (live, id, fault, spooled) = a_call_spooled_during(backend).await;
    // The process stops; the database comes back; the next start saves the spooled call.
    live.e.app.stop.stop().await;
    fault.end().await;
    let again = restart(&live.e, &[]).await;
    saved_from_the_spool(&again, id, &spooled).await;
}

async fn a_running_node_replays_its_spool_when_the_database_is_back(backend: Backend) {
    let (live, id, fault, spooled) = a_call_spooled_during(backend).await;
    fault.end().await;
    let dir = live.e.app.dir();
    // Replayed every 30 s while running.
    eventually(90, "the spool is replayed", || async {
        spool_files(dir.path()).is_empty()
    })
    .await;
    saved_from_the_spool(&live.e, id, &spooled).await;
}

both_backends!(
    a_save_the_database_refuses_is_spooled_and_saved_at_the_next_start,
    a_running_node_replays_its_spool_when_the_database_is_back,
);
