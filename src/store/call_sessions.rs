//! Call sessions (one Exotel call each) and the conversation saved when a call ends.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{on_pool, Store, StoreError};
use crate::domain::CallStatus;

/// A call just placed with Exotel.
#[derive(Debug, Clone)]
pub struct NewCallSession {
    pub call_sid: String,
    pub lead_id: i64,
    pub campaign_id: i64,
    pub scheduled_call_id: Option<i64>,
    pub status: CallStatus,
}

/// What a finished conversation leaves behind.
#[derive(Debug, Clone)]
pub struct ConversationRecord {
    pub call_session_id: i64,
    pub transcript: serde_json::Value,
    pub final_outcome: String,
    pub lead_qualified: Option<bool>,
    pub extracted_data: serde_json::Value,
}

/// The end of a call as the telephony side reports it.
#[derive(Debug, Clone)]
pub struct CallEnd {
    pub status: CallStatus,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub duration_seconds: Option<i64>,
    pub recording_url: Option<String>,
}

impl Store {
    /// Records a placed call; returns its id. The `call_sid` is unique: a second insert of the
    /// same call is refused as a conflict.
    pub async fn create_call_session(
        &self,
        new: &NewCallSession,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO call_sessions (call_sid, lead_id, campaign_id, \
            scheduled_call_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
            ON CONFLICT (call_sid) DO NOTHING RETURNING id";
        let id: Option<i64> = on_pool!(self, p => sqlx::query_scalar(SQL)
            .bind(&new.call_sid)
            .bind(new.lead_id)
            .bind(new.campaign_id)
            .bind(new.scheduled_call_id)
            .bind(new.status.as_str())
            .bind(now)
            .fetch_optional(p)
            .await)?;
        id.ok_or_else(|| StoreError::Conflict(format!("call {} is already recorded", new.call_sid)))
    }

    /// Writes the final status of a call unless a terminal status is already there: a late,
    /// earlier-stage callback never overwrites the end. Returns whether the row changed.
    pub async fn finish_call_session(
        &self,
        call_sid: &str,
        end: &CallEnd,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE call_sessions SET status = $2, \
            answered_at = COALESCE(answered_at, $3), ended_at = $4, duration_seconds = $5, \
            recording_url = COALESCE($6, recording_url), updated_at = $4 \
            WHERE call_sid = $1 AND status NOT IN ('COMPLETED','FAILED','BUSY','NO_ANSWER','CANCELED')";
        let changed = on_pool!(self, p => sqlx::query(SQL)
            .bind(call_sid)
            .bind(end.status.as_str())
            .bind(end.answered_at)
            .bind(end.ended_at)
            .bind(end.duration_seconds)
            .bind(&end.recording_url)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Saves a call's conversation once and copies the qualification verdict to its lead.
    pub async fn save_conversation(
        &self,
        record: &ConversationRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO conversations (call_session_id, transcript_history, \
            final_outcome, lead_qualified, extracted_data, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
            ON CONFLICT (call_session_id) DO NOTHING";
        const QUALIFY: &str = "UPDATE leads SET qualified = COALESCE($2, qualified) \
            WHERE id = (SELECT lead_id FROM call_sessions WHERE id = $1)";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(INSERT)
                .bind(record.call_session_id)
                .bind(Json(&record.transcript))
                .bind(&record.final_outcome)
                .bind(record.lead_qualified)
                .bind(Json(&record.extracted_data))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(QUALIFY)
                .bind(record.call_session_id)
                .bind(record.lead_qualified)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
