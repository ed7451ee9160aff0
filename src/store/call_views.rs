//! The console's reads of calls: a campaign's calls newest first, one call in full, and the
//! raw points its charts are drawn from.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::{on_pool, Store, StoreError};

/// A line of a campaign's call list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CallListRow {
    pub call_id: i64,
    pub lead_id: i64,
    pub lead_name: String,
    pub status: String,
    pub final_outcome: Option<String>,
    pub lead_qualified: Option<bool>,
    pub duration_seconds: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// One call with everything the call page shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CallDetail {
    pub call_id: i64,
    pub campaign_id: i64,
    pub call_sid: String,
    pub lead_id: i64,
    pub lead_name: String,
    pub phone: String,
    pub attempt_number: Option<i64>,
    pub status: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    /// What Exotel reported (`RecordingUrl`).
    pub recording_url: Option<String>,
    /// The runtime's own recording, a file name in `RECORDINGS_DIR`.
    pub recording_file: Option<String>,
    pub final_outcome: Option<String>,
    pub lead_qualified: Option<bool>,
    pub extracted_data: Option<Json<serde_json::Value>>,
    pub transcript: Option<Json<serde_json::Value>>,
    pub created_at: DateTime<Utc>,
}

/// When a call was placed and whether a person (not a machine) answered it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallPoint {
    pub created_at: DateTime<Utc>,
    pub answered: bool,
}

impl Store {
    /// A campaign's calls, newest first, and how many there are.
    pub async fn campaign_calls(
        &self,
        campaign_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CallListRow>, i64), StoreError> {
        const SQL: &str = "SELECT s.id AS call_id, s.lead_id, l.name AS lead_name, s.status, \
            c.final_outcome, c.lead_qualified, s.duration_seconds, s.created_at \
            FROM call_sessions s JOIN leads l ON l.id = s.lead_id \
            LEFT JOIN conversations c ON c.call_session_id = s.id \
            WHERE s.campaign_id = $1 ORDER BY s.id DESC LIMIT $2 OFFSET $3";
        const COUNT: &str = "SELECT COUNT(*) FROM call_sessions WHERE campaign_id = $1";
        let rows = on_pool!(self, p => sqlx::query_as::<_, CallListRow>(SQL)
            .bind(campaign_id).bind(limit).bind(offset).fetch_all(p).await)?;
        let total: i64 = on_pool!(self, p => sqlx::query_scalar(COUNT)
            .bind(campaign_id).fetch_one(p).await)?;
        Ok((rows, total))
    }

    /// One call, or `None` when there is no such call.
    pub async fn call_detail(&self, call_id: i64) -> Result<Option<CallDetail>, StoreError> {
        const SQL: &str = "SELECT s.id AS call_id, s.campaign_id, s.call_sid, s.lead_id, \
            l.name AS lead_name, l.phone, sc.attempt_number, s.status, s.answered_at, s.ended_at, \
            s.duration_seconds, s.recording_url, s.recording_file, c.final_outcome, \
            c.lead_qualified, c.extracted_data, c.transcript_history AS transcript, s.created_at \
            FROM call_sessions s JOIN leads l ON l.id = s.lead_id \
            LEFT JOIN scheduled_calls sc ON sc.id = s.scheduled_call_id \
            LEFT JOIN conversations c ON c.call_session_id = s.id \
            WHERE s.id = $1";
        Ok(on_pool!(self, p => sqlx::query_as::<_, CallDetail>(SQL)
            .bind(call_id).fetch_optional(p).await)?)
    }

    /// The latest `limit` calls of a campaign as points in time (for answer rate by hour).
    pub async fn call_points(
        &self,
        campaign_id: i64,
        limit: i64,
    ) -> Result<Vec<CallPoint>, StoreError> {
        // Answered the way `campaign_analytics` counts it: a machine is not a person.
        const SQL: &str = "SELECT s.created_at, \
            (s.answered_at IS NOT NULL AND COALESCE(c.final_outcome, '') <> 'voicemail') AS answered \
            FROM call_sessions s LEFT JOIN conversations c ON c.call_session_id = s.id \
            WHERE s.campaign_id = $1 ORDER BY s.id DESC LIMIT $2";
        Ok(on_pool!(self, p => sqlx::query_as::<_, CallPoint>(SQL)
            .bind(campaign_id).bind(limit).fetch_all(p).await)?)
    }

    /// The transcripts of the latest `limit` conversations of a campaign (for the latency
    /// distribution: each agent turn carries its latency).
    pub async fn recent_transcripts(
        &self,
        campaign_id: i64,
        limit: i64,
    ) -> Result<Vec<Json<serde_json::Value>>, StoreError> {
        const SQL: &str = "SELECT c.transcript_history FROM conversations c \
            JOIN call_sessions s ON s.id = c.call_session_id \
            WHERE s.campaign_id = $1 AND c.transcript_history IS NOT NULL \
            ORDER BY c.id DESC LIMIT $2";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, Json<serde_json::Value>>(SQL)
            .bind(campaign_id).bind(limit).fetch_all(p).await)?,
        )
    }
}
