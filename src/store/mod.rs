//! The store: the only code that writes SQL.
//!
//! Both backends run the same SQL text: `$1` placeholders are understood by PostgreSQL and by
//! sqlx's SQLite binder, and every statement sticks to the dialect both share. `on_pool!` expands
//! a body once per backend, so each copy is type-checked against its own driver and native types
//! (timestamptz and jsonb on PostgreSQL, text on SQLite) are kept.

mod analytics;
mod call_sessions;
mod call_views;
mod campaigns;
mod error;
mod exports;
mod in_doubt;
mod leads;
mod media_sessions;
pub use media_sessions::MediaHolder;
mod nodes;
mod recordings;
mod scheduled_calls;
mod scratch;
mod suppressions;
mod transfers;
mod webhooks;

pub use analytics::{CampaignAnalytics, Count};
pub use call_sessions::{CallEnd, ConversationRecord, NewCallSession};
pub use call_views::{CallDetail, CallListRow, CallPoint};
pub use campaigns::{Campaign, CampaignPatch, CampaignSettings, HandoffSettings, NewCampaign};
pub use error::StoreError;
pub use exports::ExportedCall;
pub use in_doubt::DueInDoubt;
pub use leads::{ImportOutcome, Lead, LeadFilter, NewLead};
pub use nodes::{Heartbeat, NodeLoad, NodeRow};
pub use scheduled_calls::{
    AttemptEnd, AttemptRow, ClaimCaps, ClaimedCall, ConversationSummary, INTERRUPTED_REASON,
};
pub use scratch::PostgresServer;
pub use suppressions::Suppression;
pub use transfers::{NewTransfer, TransferRow};
pub use webhooks::{DeliveryStatus, WebhookDelivery};

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::config::DatabaseUrl;

/// Runs `$body` with `$p` bound to the concrete pool of whichever backend the store uses.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {{
        let started = std::time::Instant::now();
        let out = match &$store.pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        };
        metrics::histogram!($crate::telemetry_metrics::names::DB_QUERY)
            .record(started.elapsed().as_secs_f64());
        out
    }};
}
pub(crate) use on_pool;

/// The connection pool of one backend.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Handle to the database; cheap to clone (it holds a pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

/// Rows per multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bind limits.
pub(crate) const INSERT_BATCH_ROWS: usize = 500;

impl Store {
    /// Opens (creating the SQLite file if needed) and migrates the database.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let pool = match url {
            DatabaseUrl::Sqlite(raw) => {
                let options = SqliteConnectOptions::from_str(raw)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                // A single writer at a time is SQLite's rule; a few readers share the file.
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                Pool::Sqlite(pool)
            }
            DatabaseUrl::Postgres(raw) => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(raw)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Pool::Postgres(pool)
            }
        };
        Ok(Store { pool })
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}
