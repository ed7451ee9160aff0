//! Hand-off decisions, keyed by Exotel's `CallSid`: written by the call before it closes its
//! stream (with the `call.transferred` event, in one transaction), read by the flow's Passthru
//! and Connect, settled by the Connect's result.

use chrono::{DateTime, Utc};

use super::{on_pool, Store, StoreError};
use crate::domain::LeadStatus;
use crate::handoff::{choose_destination, TransferResult};

/// A transfer that rings longer than this without a result is no longer counted as ringing
/// or talking (a result lost on the way must not block the campaign's transfers for good).
pub const UNSETTLED_FOR_AT_MOST: chrono::Duration = chrono::Duration::hours(2);

/// One transfer as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferRow {
    pub call_sid: String,
    pub campaign_id: i64,
    pub lead_id: i64,
    pub scheduled_call_id: i64,
    pub requested_at: DateTime<Utc>,
    pub destination: Option<String>,
    pub destination_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub settled_at: Option<DateTime<Utc>>,
    /// A missed transfer's call-back: when it is due, and when it was booked.
    pub callback_at: Option<DateTime<Utc>>,
    pub callback_booked_at: Option<DateTime<Utc>>,
}

impl TransferRow {
    pub fn result(&self) -> Option<TransferResult> {
        self.result.as_deref().and_then(TransferResult::parse)
    }
}

/// What a call records when it hands the lead over.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub call_sid: String,
    pub campaign_id: i64,
    pub lead_id: i64,
    pub scheduled_call_id: i64,
    /// The `call.transferred` event's own fields (the sender adds lead, campaign, links).
    pub event: serde_json::Value,
}

impl Store {
    /// Records the decision and queues `call.transferred`, once: a repeat changes nothing.
    pub async fn record_transfer(
        &self,
        t: &NewTransfer,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO transfers (call_sid, campaign_id, lead_id, \
            scheduled_call_id, requested_at) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (call_sid) DO NOTHING";
        let event = t.event.to_string();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query(SQL).bind(&t.call_sid).bind(t.campaign_id).bind(t.lead_id)
                .bind(t.scheduled_call_id).bind(now).execute(&mut *tx).await?.rows_affected();
            if inserted > 0 {
                sqlx::query(super::webhooks::ENQUEUE).bind(t.campaign_id).bind("call.transferred")
                    .bind(&event).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn transfer(&self, call_sid: &str) -> Result<Option<TransferRow>, StoreError> {
        const SQL: &str = "SELECT * FROM transfers WHERE call_sid = $1";
        let row = on_pool!(self, p => sqlx::query_as::<_, TransferRow>(SQL)
            .bind(call_sid).fetch_optional(p).await)?;
        Ok(row)
    }

    /// The campaign's transfers ringing or talking now (a destination, no result yet).
    pub async fn unsettled_transfers(
        &self,
        campaign_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT destination FROM transfers WHERE campaign_id = $1 \
            AND destination IS NOT NULL AND result IS NULL AND destination_at > $2";
        let rows: Vec<String> = on_pool!(self, p => sqlx::query_scalar(SQL)
            .bind(campaign_id).bind(now - UNSETTLED_FOR_AT_MOST).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The number the Connect dials for this call: the one chosen before when asked again
    /// (idempotent), else one by the campaign's strategy and limit, kept on the transfer.
    /// `None` for a call with no transfer, or no number free.
    pub async fn transfer_destination(
        &self,
        call_sid: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let Some(transfer) = self.transfer(call_sid).await? else {
            return Ok(None);
        };
        if transfer.destination.is_some() {
            return Ok(transfer.destination);
        }
        let campaign = self.campaign(transfer.campaign_id).await?;
        let engaged = self.unsettled_transfers(campaign.id, now).await?;
        // Advanced atomically, so two transfers asking at once start at different numbers.
        const TURN: &str = "UPDATE campaigns SET transfer_cursor = transfer_cursor + 1 \
            WHERE id = $1 RETURNING transfer_cursor";
        let turn: i64 = on_pool!(self, p => sqlx::query_scalar(TURN)
            .bind(campaign.id).fetch_one(p).await)?;
        let Some(number) = choose_destination(
            &campaign.transfer_numbers.0,
            campaign.transfer_strategy,
            u64::try_from(turn - 1).unwrap_or(0),
            &engaged,
            engaged.len(),
            usize::try_from(campaign.max_concurrent_transfers).unwrap_or(1),
        ) else {
            return Ok(None);
        };
        const KEEP: &str = "UPDATE transfers SET destination = $2, destination_at = $3 \
            WHERE call_sid = $1 AND destination IS NULL";
        on_pool!(self, p => sqlx::query(KEEP).bind(call_sid).bind(number.as_str()).bind(now)
            .execute(p).await.map(|_| ()))?;
        // A concurrent ask for the same call may have won: both answer its number.
        Ok(self.transfer(call_sid).await?.and_then(|t| t.destination))
    }

    /// Records how the transfer ended, once, with the call-back a miss is owed (`callback_at`);
    /// returns the row when this call settled it.
    pub async fn settle_transfer(
        &self,
        call_sid: &str,
        result: TransferResult,
        callback_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<TransferRow>, StoreError> {
        const SQL: &str = "UPDATE transfers SET result = $2, settled_at = $3, callback_at = $4 \
            WHERE call_sid = $1 AND result IS NULL RETURNING *";
        let row = on_pool!(self, p => sqlx::query_as::<_, TransferRow>(SQL)
            .bind(call_sid).bind(result.as_str()).bind(now).bind(callback_at)
            .fetch_optional(p).await)?;
        Ok(row)
    }

    /// Books the call-back of every missed transfer whose call is saved (its save ends the
    /// lead; the call-back must come after it) and not booked yet; returns how many. Run by
    /// the result endpoint and by every node's heartbeat, so a restart in between loses none;
    /// each booking is conditional on the row's mark, so two nodes book one call-back.
    pub async fn book_missed_transfer_callbacks(
        &self,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        const DUE: &str = "SELECT t.* FROM transfers t WHERE t.result = 'missed' \
            AND t.callback_at IS NOT NULL AND t.callback_booked_at IS NULL \
            AND EXISTS (SELECT 1 FROM conversations c JOIN call_sessions s \
                ON s.id = c.call_session_id WHERE s.call_sid = t.call_sid) \
            ORDER BY t.settled_at";
        let due = on_pool!(self, p => sqlx::query_as::<_, TransferRow>(DUE).fetch_all(p).await)?;
        let mut booked = 0;
        for transfer in &due {
            if self.book_transfer_callback(transfer, now).await? {
                booked += 1;
            }
        }
        Ok(booked)
    }

    /// A missed transfer's call-back: a new call at its `callback_at` that does not use one of
    /// the lead's attempts (the lead wanted to talk; our team missed them), the lead SCHEDULED
    /// again. Written after the call's own save, so it replaces the end that save gave the
    /// lead; false when another node booked it first.
    async fn book_transfer_callback(
        &self,
        transfer: &TransferRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const MARK: &str = "UPDATE transfers SET callback_booked_at = $2 \
            WHERE call_sid = $1 AND callback_booked_at IS NULL";
        let at = transfer.callback_at.unwrap_or(now);
        const RETRY: &str = "INSERT INTO scheduled_calls (campaign_id, lead_id, scheduled_time, \
            status, attempt_number, max_attempts, created_at, updated_at) \
            SELECT campaign_id, lead_id, $2, 'PENDING', attempt_number + 1, max_attempts + 1, $3, $3 \
            FROM scheduled_calls WHERE id = $1";
        const WAS_DONE: &str = "SELECT status FROM leads WHERE id = $1";
        const UNDONE: &str = "UPDATE campaigns SET leads_completed = leads_completed - 1 \
            WHERE id = $1 AND leads_completed > 0";
        const STATUS: &str = "UPDATE leads SET status = $2 WHERE id = $1";
        let booked = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mine = sqlx::query(MARK).bind(&transfer.call_sid).bind(now)
                .execute(&mut *tx).await?.rows_affected() > 0;
            if !mine {
                return Ok(false);
            }
            sqlx::query(RETRY).bind(transfer.scheduled_call_id).bind(at).bind(now)
                .execute(&mut *tx).await?;
            let status: Option<String> = sqlx::query_scalar(WAS_DONE).bind(transfer.lead_id)
                .fetch_optional(&mut *tx).await?;
            if status.as_deref() == Some(LeadStatus::Completed.as_str()) {
                sqlx::query(UNDONE).bind(transfer.campaign_id).execute(&mut *tx).await?;
            }
            sqlx::query(STATUS).bind(transfer.lead_id).bind(LeadStatus::Scheduled.as_str())
                .execute(&mut *tx).await?;
            tx.commit().await?;
            true
        });
        Ok(booked)
    }
}
