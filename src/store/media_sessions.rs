//! Which node carries an answered call's media, and the calls a crash left open.
//!
//! `claim_media` is the one gate a media socket passes before a conversation starts: a
//! conditional UPDATE, so a replayed or duplicated socket for a call that is live (here or on
//! another node) or already ended starts nothing. After a crash, the calls this node had live
//! are found by the same column and closed as `interrupted`.

use chrono::{DateTime, Utc};

use super::scheduled_calls::ATTEMPT_COLUMNS;
use super::{on_pool, AttemptRow, Store, StoreError};
use crate::call::outcome::ConversationOutcome;

impl Store {
    /// Claims the media of a call for `node`; false when the call already has (or had) a media
    /// session, its conversation is saved, or its attempt is closed.
    pub async fn claim_media(
        &self,
        call_sid: &str,
        node: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE call_sessions SET media_node = $2, updated_at = $3 \
            WHERE call_sid = $1 AND media_node IS NULL \
            AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.call_session_id = call_sessions.id) \
            AND EXISTS (SELECT 1 FROM scheduled_calls sc WHERE sc.id = call_sessions.scheduled_call_id \
                AND sc.status IN ('DIALING','IN_PROGRESS'))";
        let changed = on_pool!(self, p => sqlx::query(SQL).bind(call_sid).bind(node).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Attempts still open whose media was on `node` and whose conversation was never saved:
    /// at start-up these are calls the previous process was killed in the middle of.
    pub async fn calls_live_on_node(&self, node: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let columns = ATTEMPT_COLUMNS
            .split(", ")
            .map(|c| match c.split_once(" AS ") {
                Some((col, alias)) => format!("sc.{col} AS {alias}"),
                None => format!("sc.{c}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM scheduled_calls sc \
             JOIN call_sessions cs ON cs.call_sid = sc.current_call_sid \
             WHERE cs.media_node = $1 AND sc.status = 'IN_PROGRESS' \
             AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.call_session_id = cs.id) \
             ORDER BY sc.id"
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, AttemptRow>(&sql).bind(node).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Saves the conversation of a call cut short by a crash: what was said died with the
    /// process, so the transcript is empty and the outcome says why. Saved once.
    pub async fn save_interrupted_conversation(
        &self,
        call_sid: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // `lead_qualified` stays NULL: nobody can say.
        const SQL: &str = "INSERT INTO conversations (call_session_id, transcript_history, \
            final_outcome, extracted_data, created_at) \
            SELECT id, $2, $3, $4, $5 FROM call_sessions WHERE call_sid = $1 \
            ON CONFLICT (call_session_id) DO NOTHING";
        const SESSION: &str = "SELECT s.id AS call_id, s.campaign_id, s.lead_id, \
            s.scheduled_call_id, sc.attempt_number AS attempt, s.answered_at FROM call_sessions s \
            LEFT JOIN scheduled_calls sc ON sc.id = s.scheduled_call_id WHERE s.call_sid = $1";
        let empty = serde_json::json!([]);
        let no_facts = serde_json::json!({});
        let outcome = ConversationOutcome::Interrupted.as_str();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let saved = sqlx::query(SQL).bind(call_sid).bind(sqlx::types::Json(&empty))
                .bind(outcome).bind(sqlx::types::Json(&no_facts)).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if saved > 0 {
                // The campaign's webhook hears of the lost conversation too, in the same
                // transaction (so exactly once).
                let session: Option<InterruptedSession> = sqlx::query_as(SESSION).bind(call_sid).fetch_optional(&mut *tx).await?;
                if let Some(InterruptedSession { call_id, campaign_id, lead_id, scheduled_call_id, attempt, answered_at }) = session {
                    let event = serde_json::json!({
                        "call_id": call_id, "event": "call.ended", "answered": answered_at.is_some(),
                        "campaign_id": campaign_id, "lead_id": lead_id,
                        "scheduled_call_id": scheduled_call_id, "attempt": attempt,
                        "call_sid": call_sid, "outcome": outcome, "qualified": null,
                        "facts": {}, "answered_at": answered_at, "ended_at": now,
                        "recovered_after_restart": true, "links": {},
                    })
                    .to_string();
                    sqlx::query(super::webhooks::ENQUEUE).bind(campaign_id).bind("call.ended")
                        .bind(&event).bind(now).execute(&mut *tx).await?;
                }
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// The node carrying a call's conversation, if one claimed its media and its conversation
    /// is not saved yet, and whether that node is alive (UP in `nodes`, lease running at
    /// `now`). A node missing from `nodes` counts as not alive.
    pub async fn media_holder(
        &self,
        call_sid: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<MediaHolder>, StoreError> {
        const SQL: &str = "SELECT cs.media_node AS node_id, \
            COALESCE(n.status = 'UP' AND n.lease_until > $2, FALSE) AS alive \
            FROM call_sessions cs LEFT JOIN nodes n ON n.node_id = cs.media_node \
            WHERE cs.call_sid = $1 AND cs.media_node IS NOT NULL \
            AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.call_session_id = cs.id)";
        let holder = on_pool!(self, p => sqlx::query_as::<_, MediaHolder>(SQL).bind(call_sid)
            .bind(now).fetch_optional(p).await)?;
        Ok(holder)
    }

    /// When the session of a call whose audio never reached us (no media socket claimed it, no
    /// conversation saved) was opened; `None` for any other call.
    pub async fn silent_call_placed_at(
        &self,
        call_sid: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        const SQL: &str = "SELECT created_at FROM call_sessions cs WHERE call_sid = $1 \
            AND media_node IS NULL \
            AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.call_session_id = cs.id)";
        let at =
            on_pool!(self, p => sqlx::query_scalar(SQL).bind(call_sid).fetch_optional(p).await)?;
        Ok(at)
    }
}

/// Who carries a live conversation (`media_holder`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaHolder {
    pub node_id: String,
    pub alive: bool,
}

/// What the `call.ended` event of a conversation lost to a crash says about its call.
#[derive(sqlx::FromRow)]
struct InterruptedSession {
    call_id: i64,
    campaign_id: i64,
    lead_id: i64,
    scheduled_call_id: Option<i64>,
    attempt: Option<i64>,
    answered_at: Option<DateTime<Utc>>,
}
