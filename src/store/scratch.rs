//! Throwaway databases on a PostgreSQL server, for the tests and the cluster benchmark: each
//! test or run gets a database of its own on one shared server (created in a moment, unlike a
//! server), so nothing left by one can change another's figures or verdicts.

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::StoreError;

/// A PostgreSQL server, reached through an administrator's URL (one that may create databases).
#[derive(Debug, Clone)]
pub struct PostgresServer {
    admin: PgPool,
    admin_url: url::Url,
}

impl PostgresServer {
    pub async fn connect(admin_url: &str) -> Result<PostgresServer, StoreError> {
        let parsed = url::Url::parse(admin_url).map_err(|e| {
            StoreError::Database(sqlx::Error::Configuration(
                format!("not a PostgreSQL URL: {e}").into(),
            ))
        })?;
        // One connection: `other_clients` tells ours apart by `pg_backend_pid()`.
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(admin_url)
            .await?;
        Ok(PostgresServer {
            admin,
            admin_url: parsed,
        })
    }

    /// A new, empty database named `{prefix}_{random}`; returns its URL (the admin URL with
    /// the database's name as its path). `prefix` must be a plain SQL identifier.
    pub async fn create_database(&self, prefix: &str) -> Result<String, StoreError> {
        let name = format!("{prefix}_{}", crate::config::random_token());
        // A name cannot be a bind parameter; this one is ours, letters, digits and '_'.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&self.admin)
            .await?;
        let mut url = self.admin_url.clone();
        url.set_path(&name);
        Ok(url.to_string())
    }

    /// Drops a database `create_database` made (its URL), closing what is still connected.
    pub async fn drop_database(&self, database_url: &str) -> Result<(), StoreError> {
        let name = database_name(database_url);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Conflict(format!(
                "not a scratch database: {name:?}"
            )));
        }
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&self.admin)
            .await?;
        Ok(())
    }

    /// The operating-system id of the server process serving our connection: its parent is
    /// the postmaster, when the server runs on this machine.
    pub async fn backend_pid(&self) -> Result<u32, StoreError> {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&self.admin)
            .await?;
        Ok(pid.unsigned_abs())
    }

    /// Client connections to other databases than `database_url`'s and ours: someone else
    /// using the server (whose CPU a benchmark would count as its own).
    pub async fn other_clients(&self, database_url: &str) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM pg_stat_activity \
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
            AND datname IS DISTINCT FROM $1";
        Ok(sqlx::query_scalar(SQL)
            .bind(database_name(database_url))
            .fetch_one(&self.admin)
            .await?)
    }

    pub async fn close(&self) {
        self.admin.close().await;
    }
}

fn database_name(database_url: &str) -> String {
    url::Url::parse(database_url)
        .map(|u| u.path().trim_start_matches('/').to_string())
        .unwrap_or_default()
}
