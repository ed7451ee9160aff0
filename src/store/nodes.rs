//! Cluster membership: each node heart-beats its row in `nodes`; a node whose lease ran out
//! is LOST, and the first node to notice expires its dial claims at once, so the normal
//! reconciliation (settle, never re-dial on a guess) takes them over without waiting for each
//! call's own, longer lease.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{on_pool, Store, StoreError};

/// A node as the cluster sees it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NodeRow {
    pub node_id: String,
    /// `UP`, `LEFT` (drained and stopped) or `LOST` (stopped heart-beating).
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub live_calls: i64,
    pub tokens_capacity: i64,
    pub tokens_in_use: i64,
    /// Where the other nodes reach it (`NODE_URL`); `None` for a node from before migration 0011.
    pub node_url: Option<String>,
}

/// One heartbeat of a node.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat<'a> {
    pub node_id: &'a str,
    pub node_url: &'a str,
    /// When the node's process started (a restart shows as a new value).
    pub started_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Until when the others take the node for alive without another heartbeat.
    pub lease_until: DateTime<Utc>,
    pub load: NodeLoad,
}

/// What a node reports with each heartbeat.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeLoad {
    pub live_calls: i64,
    pub tokens_capacity: i64,
    pub tokens_in_use: i64,
}

impl Store {
    /// Renews this node's row (creating it, or reviving it after LEFT or LOST).
    pub async fn heartbeat(&self, beat: &Heartbeat<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO nodes (node_id, status, started_at, heartbeat_at, \
            lease_until, live_calls, tokens_capacity, tokens_in_use, node_url) \
            VALUES ($1, 'UP', $2, $3, $4, $5, $6, $7, $8) \
            ON CONFLICT (node_id) DO UPDATE SET status = 'UP', started_at = $2, heartbeat_at = $3, \
            lease_until = $4, live_calls = $5, tokens_capacity = $6, tokens_in_use = $7, \
            node_url = $8";
        let load = beat.load;
        on_pool!(self, p => sqlx::query(SQL).bind(beat.node_id).bind(beat.started_at)
            .bind(beat.now).bind(beat.lease_until).bind(load.live_calls)
            .bind(load.tokens_capacity).bind(load.tokens_in_use).bind(beat.node_url)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// A drained node says goodbye: the others need not wait for its lease.
    pub async fn leave(&self, node_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE nodes SET status = 'LEFT', lease_until = $2, live_calls = 0, \
            tokens_in_use = 0 WHERE node_id = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(node_id).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Every node ever seen, this one included, by id.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        const SQL: &str = "SELECT node_id, status, started_at, heartbeat_at, lease_until, \
            live_calls, tokens_capacity, tokens_in_use, node_url FROM nodes ORDER BY node_id";
        Ok(on_pool!(self, p => sqlx::query_as::<_, NodeRow>(SQL).fetch_all(p).await)?)
    }

    /// Finds the UP nodes whose lease ran out before `now` (never `me`), marks each LOST and
    /// expires its dial claims; returns the ids of the nodes this call marked. The mark is
    /// conditional, so of several nodes noticing at once, one settles each lost node.
    pub async fn settle_lost_nodes(
        &self,
        me: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        const LOST: &str = "UPDATE nodes SET status = 'LOST' WHERE status = 'UP' \
            AND lease_until < $1 AND node_id <> $2 RETURNING node_id";
        // The claim's lease becomes "now": the next scheduling round of any node sees it
        // expired and settles it by the in-doubt rules (a call that may have been placed is
        // looked up, never dialed again).
        const EXPIRE: &str = "UPDATE scheduled_calls SET lease_until = $2 WHERE claimed_by = $1 \
            AND status IN ('DIALING','IN_PROGRESS') AND (lease_until IS NULL OR lease_until > $2)";
        let lost = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let lost: Vec<String> = sqlx::query_scalar(LOST).bind(now).bind(me)
                .fetch_all(&mut *tx).await?;
            for node in &lost {
                sqlx::query(EXPIRE).bind(node).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            lost
        });
        Ok(lost)
    }

    /// How many attempts each node claimed (a claim keeps its `claimed_by` once closed): how
    /// the work spread across a cluster.
    pub async fn claims_by_node(&self) -> Result<Vec<(String, i64)>, StoreError> {
        const SQL: &str = "SELECT claimed_by, COUNT(*) FROM scheduled_calls \
            WHERE claimed_by IS NOT NULL GROUP BY claimed_by ORDER BY claimed_by";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await)?)
    }
}
