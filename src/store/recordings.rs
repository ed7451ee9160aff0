//! A call's recordings: the file the runtime wrote (`recording_file`, a bare name inside
//! `RECORDINGS_DIR`) and the URL Exotel reported (`recording_url`).

use chrono::{DateTime, Utc};

use super::{on_pool, Store, StoreError};
use crate::domain::{CallRecording, RecordingName};

impl Store {
    /// Records that the call's own recording is complete, as `name`.
    pub async fn set_recording_file(
        &self,
        call_sid: &str,
        name: &RecordingName,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE call_sessions SET recording_file = $2, updated_at = $3 \
            WHERE call_sid = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(call_sid).bind(name.as_str()).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The recordings of the call with this id (the exports' `call_id`); not found when there
    /// is no such call.
    pub async fn call_recording(&self, call_id: i64) -> Result<CallRecording, StoreError> {
        const SQL: &str = "SELECT recording_file, recording_url FROM call_sessions WHERE id = $1";
        let row: Option<(Option<String>, Option<String>)> = on_pool!(self, p =>
            sqlx::query_as(SQL).bind(call_id).fetch_optional(p).await)?;
        let (file, url) = row.ok_or(StoreError::NotFound("call"))?;
        Ok(CallRecording::from_columns(file.as_deref(), url.as_deref()))
    }
}
