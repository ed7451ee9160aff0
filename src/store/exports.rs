//! `GET /exports/calls/{id}`: every call of a campaign with its transcript, read in pages by
//! key so that a 100k-call export never sits in memory and holds no connection between pages.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::{on_pool, Store, StoreError};
use crate::domain::CallRecording;

/// One call with its lead, outcome and transcript.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ExportedCall {
    pub call_id: i64,
    pub call_sid: String,
    pub lead_id: i64,
    pub lead_name: String,
    pub phone: String,
    pub attempt_number: Option<i64>,
    /// When this attempt was planned (a retry, or the call-back the lead asked for).
    pub scheduled_time: Option<DateTime<Utc>>,
    #[schema(value_type = crate::domain::CallStatus)]
    pub status: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    /// What Exotel reported as the call's recording.
    pub recording_url: Option<String>,
    /// Our URL for the call's recording (`/calls/{call_id}/recording`), when it has one: the
    /// runtime's own, or Exotel's (then a redirect).
    #[sqlx(skip)]
    pub recording: Option<String>,
    #[serde(skip)]
    pub recording_file: Option<String>,
    pub final_outcome: Option<String>,
    pub lead_qualified: Option<bool>,
    /// The facts the conversation gathered, by name.
    #[schema(value_type = Option<Object>)]
    pub extracted_data: Option<Json<serde_json::Value>>,
    /// The turns in order: `speaker` (`ai` or `user`), `text`, `interrupted`, times.
    #[schema(value_type = Option<Vec<Object>>)]
    pub transcript: Option<Json<serde_json::Value>>,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// The calls of a campaign with id greater than `after`, at most `limit`, in id order.
    pub async fn export_calls_page(
        &self,
        campaign_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportedCall>, StoreError> {
        const SQL: &str = "SELECT s.id AS call_id, s.call_sid, s.lead_id, l.name AS lead_name, \
            l.phone, sc.attempt_number, sc.scheduled_time, s.status, s.answered_at, s.ended_at, s.duration_seconds, \
            s.recording_url, s.recording_file, c.final_outcome, c.lead_qualified, c.extracted_data, \
            c.transcript_history AS transcript, s.created_at \
            FROM call_sessions s JOIN leads l ON l.id = s.lead_id \
            LEFT JOIN scheduled_calls sc ON sc.id = s.scheduled_call_id \
            LEFT JOIN conversations c ON c.call_session_id = s.id \
            WHERE s.campaign_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $3";
        let mut rows = on_pool!(self, p => sqlx::query_as::<_, ExportedCall>(SQL)
            .bind(campaign_id).bind(after).bind(limit).fetch_all(p).await)?;
        for row in &mut rows {
            row.recording = CallRecording::from_columns(
                row.recording_file.as_deref(),
                row.recording_url.as_deref(),
            )
            .link(row.call_id);
        }
        Ok(rows)
    }
}
