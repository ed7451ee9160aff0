//! A conversation the database will not take at the call's end is retried, then spooled to a
//! file, and saved from the spool at the next start. Real faults: PostgreSQL refusing
//! connections, SQLite locked by another connection past the busy timeout.

use futures::SinkExt;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use tokio_tungstenite::tungstenite::Message;

use crate::both_backends;
use crate::engine_support::{eventually, restart};
use crate::helpers::Backend;
use crate::live_support::live_app;
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

async fn a_save_the_database_refuses_is_spooled_and_saved_at_the_next_start(backend: Backend) {
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

    // The process stops; the database comes back; the next start saves the spooled call.
    live.e.app.stop.stop().await;
    fault.end().await;
    let again = restart(&live.e, &[]).await;
    let calls: Vec<Value> = again
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
        spool_files(dir.path()).is_empty(),
        "the spool file was kept"
    );
    let lead = crate::engine_support::leads(&again, id).await[0].clone();
    assert_eq!(lead["status"], "COMPLETED", "{lead}");
}

both_backends!(a_save_the_database_refuses_is_spooled_and_saved_at_the_next_start);
