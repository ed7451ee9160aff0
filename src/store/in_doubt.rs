//! Dials in doubt: Exotel may have placed the call and we did not see its answer. Such a row
//! stays DIALING with `in_doubt_since` set and `lease_until` holding the time of its next
//! lookup; the lead's attempt is counted when the doubt begins, and the row is never released
//! to PENDING (`release_claim` refuses it) until it is settled: adopted (`mark_dialed`), or
//! closed (`close_attempt`) as not placed or as a no-answer.

use chrono::{DateTime, Utc};

use super::scheduled_calls::{count_attempt, ATTEMPT_COLUMNS};
use super::{on_pool, AttemptRow, Store, StoreError};
use crate::domain::LeadStatus;

/// A dial in doubt whose next lookup is due, with the number to look up.
#[derive(Debug, Clone)]
pub struct DueInDoubt {
    pub attempt: AttemptRow,
    /// The lead's number (E.164): Exotel's call list is searched by it.
    pub phone: String,
}

impl Store {
    /// Puts a claimed, unrecorded dial in doubt and counts its attempt. `since` is the latest
    /// moment its request can have gone out (Exotel's call list is searched around it). Returns
    /// false, changing nothing, when the row was recorded, closed or already in doubt meanwhile.
    pub async fn mark_in_doubt(
        &self,
        attempt: &AttemptRow,
        since: DateTime<Utc>,
        next_lookup: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE scheduled_calls SET in_doubt_since = $2, lease_until = $3, \
            updated_at = $4 WHERE id = $1 AND status = 'DIALING' AND current_call_sid IS NULL \
            AND in_doubt_since IS NULL";
        let moved = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let moved = sqlx::query(SQL).bind(attempt.scheduled_call_id).bind(since).bind(next_lookup)
                .bind(now).execute(&mut *tx).await?.rows_affected() > 0;
            if moved {
                count_attempt(&mut tx, attempt.lead_id, attempt.campaign_id, LeadStatus::InProgress, now).await?;
            }
            tx.commit().await?;
            moved
        });
        Ok(moved)
    }

    /// A campaign's dials in doubt whose next lookup is due at `now`.
    pub async fn due_in_doubt(
        &self,
        campaign_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueInDoubt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM scheduled_calls WHERE campaign_id = $1 \
             AND status = 'DIALING' AND in_doubt_since IS NOT NULL AND lease_until <= $2 ORDER BY id"
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, AttemptRow>(&sql)
            .bind(campaign_id).bind(now).fetch_all(p).await)?;
        let mut due = Vec::with_capacity(rows.len());
        for attempt in rows {
            let phone = self.lead(attempt.lead_id).await?.phone;
            due.push(DueInDoubt { attempt, phone });
        }
        Ok(due)
    }

    /// Whether a call sid belongs to one of our attempts (any campaign, any state).
    pub async fn knows_call_sid(&self, call_sid: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM scheduled_calls WHERE current_call_sid = $1";
        let n: i64 =
            on_pool!(self, p => sqlx::query_scalar(SQL).bind(call_sid).fetch_one(p).await)?;
        Ok(n > 0)
    }
}
