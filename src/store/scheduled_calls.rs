//! Planned dials and their life: scheduling leads, atomic claims with leases, recording the
//! dial, closing an attempt (with the retry the policy chose), and finding expired claims.
//!
//! The claim is the crash-safety mechanism: a row goes PENDING → DIALING (with `claimed_by` and
//! `lease_until`) in one conditional UPDATE before anyone is called, so no two workers dial it,
//! and a claim whose lease runs out is reconciled rather than forgotten.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::{on_pool, Store, StoreError};
use crate::domain::{CallRecording, CallStatus, LeadStatus, RecordingName, SuppressionSource};
use crate::scheduling::NextStep;

/// A scheduled call this node has claimed and is about to dial.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedCall {
    pub scheduled_call_id: i64,
    pub lead_id: i64,
    pub attempt_number: i64,
    pub max_attempts: i64,
    pub lead_name: String,
    pub phone: String,
}

/// One attempt as the webhook and reconciliation see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub scheduled_call_id: i64,
    pub campaign_id: i64,
    pub lead_id: i64,
    pub attempt_number: i64,
    pub status: String,
    pub current_call_sid: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Set while (and after) the dial was in doubt: its attempt is already counted.
    pub in_doubt_since: Option<DateTime<Utc>>,
}

impl AttemptRow {
    /// Whether the lead's attempt counter already includes this attempt.
    pub fn counted(&self) -> bool {
        self.current_call_sid.is_some() || self.in_doubt_since.is_some()
    }
}

/// What a finished conversation leaves behind (saved with the attempt's end).
#[derive(Debug, Clone)]
pub struct ConversationSummary {
    pub transcript: serde_json::Value,
    pub final_outcome: String,
    pub lead_qualified: Option<bool>,
    pub extracted_data: serde_json::Value,
    /// The call-back asked for does not use one of the lead's attempts (at most 2 a lead).
    pub free_callback: bool,
    /// The lead asked never to be called again: its number joins the suppression list.
    pub opted_out: bool,
    /// The runtime's own recording of the call, finalised (`RECORDINGS_DIR`).
    pub recording_file: Option<RecordingName>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptEnd {
    /// The call's final status (for a dial Exotel refused: FAILED).
    pub status: CallStatus,
    pub failure_reason: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    pub recording_url: Option<String>,
    pub next: NextStep,
}

/// Why an attempt closed as interrupted failed: the process stopped mid-call. Such a call's
/// event is the conversation's (`save_interrupted_conversation`), not an unanswered one.
pub const INTERRUPTED_REASON: &str = "interrupted: the process stopped mid-call";

/// The limits a claim keeps to, counted across the whole cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimCaps {
    /// The campaign's `max_concurrent_calls`.
    pub campaign: i64,
    /// `EXOTEL_MAX_CONCURRENT_CALLS`: calls at once for the whole account.
    pub account: Option<i64>,
    /// `EXOTEL_CALLS_PER_MINUTE`: claims in the last minute, cluster-wide.
    pub per_minute: Option<i64>,
}

impl ClaimCaps {
    /// Only the campaign's own cap (tests and tools that claim by hand).
    pub fn campaign(max_concurrent_calls: i64) -> ClaimCaps {
        ClaimCaps {
            campaign: max_concurrent_calls,
            account: None,
            per_minute: None,
        }
    }
}

/// The advisory lock every claim takes on PostgreSQL (any constant unique to this purpose).
const CLAIM_LOCK: i64 = 0x766f_6963_6c61_696d; // "voiclaim"

pub(super) const ATTEMPT_COLUMNS: &str = "id AS scheduled_call_id, campaign_id, lead_id, \
    attempt_number, status, current_call_sid, claimed_by, lease_until, in_doubt_since";

impl Store {
    /// Plans a first call at `at` for every NEW lead of the campaign; returns how many.
    ///
    /// Safe with several nodes planning one campaign at once: the leads are first taken with
    /// `UPDATE … WHERE status = 'NEW' RETURNING id`. On PostgreSQL a row another transaction
    /// is updating makes this one wait and then re-check `status = 'NEW'` (false by then), so
    /// each lead is taken by exactly one planner; SQLite has one writer at a time. Only the
    /// leads taken get a call, in the same transaction, so none is SCHEDULED without one, and a
    /// lead imported meanwhile stays NEW for the next round. (An `INSERT … SELECT` of the NEW
    /// leads, as this once was, reads without locking: three nodes planned every lead 2–3 times.)
    pub async fn schedule_new_leads(
        &self,
        campaign_id: i64,
        at: DateTime<Utc>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        const TAKE: &str = "UPDATE leads SET status = 'SCHEDULED' WHERE campaign_id = $1 \
            AND status = 'NEW' RETURNING id";
        // Bind parameters per statement stay far below both backends' limits.
        const CHUNK: usize = 500;
        let planned = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let taken: Vec<i64> = sqlx::query_scalar(TAKE).bind(campaign_id)
                .fetch_all(&mut *tx).await?;
            for ids in taken.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO scheduled_calls (campaign_id, lead_id, scheduled_time, status, \
                     attempt_number, max_attempts, created_at, updated_at) SELECT campaign_id, id, ",
                );
                qb.push_bind(at).push(", 'PENDING', 1, ").push_bind(max_attempts).push(", ")
                    .push_bind(now).push(", ").push_bind(now).push(" FROM leads WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            taken.len() as u64
        });
        Ok(planned)
    }

    /// Atomically claims up to `limit` due calls of a campaign for `node`, oldest first, within
    /// the cluster-wide `caps`. A call whose number is on the suppression list is never
    /// claimed, whichever campaign put it there (`cancel_suppressed_calls` closes it).
    ///
    /// The caps are counted from the database in the claim's own transaction, so they hold
    /// across every node: on PostgreSQL the transaction first takes one advisory lock
    /// (`CLAIM_LOCK`), so no two claims anywhere count at the same time (claims are a few
    /// milliseconds, a few per second: one lock for the cluster costs nothing and cannot
    /// deadlock); SQLite has one writer at a time and no cluster.
    pub async fn claim_due_calls(
        &self,
        campaign_id: i64,
        now: DateTime<Utc>,
        limit: i64,
        node: &str,
        lease_until: DateTime<Utc>,
        caps: &ClaimCaps,
    ) -> Result<Vec<ClaimedCall>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
        // Dialing or on the phone, in doubt included: a call that may be live counts.
        const CAMPAIGN_LIVE: &str = "SELECT COUNT(*) FROM scheduled_calls WHERE campaign_id = $1 \
            AND status IN ('DIALING','IN_PROGRESS')";
        const ACCOUNT_LIVE: &str =
            "SELECT COUNT(*) FROM scheduled_calls WHERE status IN ('DIALING','IN_PROGRESS')";
        const LAST_MINUTE: &str = "SELECT COUNT(*) FROM scheduled_calls WHERE claimed_at > $1";
        const CLAIM: &str = "UPDATE scheduled_calls SET status = 'DIALING', claimed_by = $3, \
            lease_until = $4, claimed_at = $2, updated_at = $2 \
            WHERE id IN (SELECT sc.id FROM scheduled_calls sc WHERE sc.campaign_id = $1 \
            AND sc.status = 'PENDING' AND sc.scheduled_time <= $2 \
            AND NOT EXISTS (SELECT 1 FROM leads l JOIN suppressions s ON s.phone = l.phone \
                WHERE l.id = sc.lead_id) \
            ORDER BY sc.scheduled_time, sc.id LIMIT $5) AND status = 'PENDING' \
            RETURNING id";
        let postgres = self.backend() == "postgres";
        // SQLite: take the write lock at BEGIN. A deferred transaction that counts first and
        // writes second fails with "database is locked" when another connection wrote in
        // between (no busy wait applies to that upgrade).
        let begin = if postgres { "BEGIN" } else { "BEGIN IMMEDIATE" };
        let ids: Vec<i64> = on_pool!(self, p => {
            let mut tx = p.begin_with(begin).await?;
            if postgres {
                sqlx::query(LOCK).bind(CLAIM_LOCK).execute(&mut *tx).await?;
            }
            let mut allowed = limit;
            let live: i64 = sqlx::query_scalar(CAMPAIGN_LIVE).bind(campaign_id)
                .fetch_one(&mut *tx).await?;
            allowed = allowed.min(caps.campaign - live);
            if let Some(account) = caps.account {
                let live: i64 = sqlx::query_scalar(ACCOUNT_LIVE).fetch_one(&mut *tx).await?;
                allowed = allowed.min(account - live);
            }
            if let Some(per_minute) = caps.per_minute {
                let recent: i64 = sqlx::query_scalar(LAST_MINUTE)
                    .bind(now - chrono::Duration::minutes(1)).fetch_one(&mut *tx).await?;
                allowed = allowed.min(per_minute - recent);
            }
            let ids: Vec<i64> = if allowed > 0 {
                sqlx::query_scalar(CLAIM).bind(campaign_id).bind(now).bind(node)
                    .bind(lease_until).bind(allowed).fetch_all(&mut *tx).await?
            } else {
                Vec::new()
            };
            tx.commit().await?;
            ids
        });
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = on_pool!(self, p => {
            let mut qb = QueryBuilder::new(
                "SELECT sc.id AS scheduled_call_id, sc.lead_id, sc.attempt_number, sc.max_attempts, \
                 l.name AS lead_name, l.phone FROM scheduled_calls sc JOIN leads l ON l.id = sc.lead_id \
                 WHERE sc.id IN (",
            );
            let mut list = qb.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY sc.scheduled_time, sc.id");
            qb.build_query_as::<ClaimedCall>().fetch_all(p).await
        })?;
        Ok(claimed)
    }

    /// Records that Exotel accepted the call: the claim becomes IN_PROGRESS with the call's sid,
    /// a call session is opened and the lead's attempt is counted — unless the dial was in doubt,
    /// whose attempt was counted then (a call adopted from a callback or Exotel's call list).
    /// One transaction.
    pub async fn mark_dialed(
        &self,
        claim: &ClaimedCall,
        campaign_id: i64,
        call_sid: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const CALL: &str =
            "UPDATE scheduled_calls SET status = 'IN_PROGRESS', current_call_sid = $2, \
            lease_until = $3, updated_at = $4 WHERE id = $1 AND status = 'DIALING' \
            AND current_call_sid IS NULL AND in_doubt_since IS NULL";
        const IN_DOUBT: &str =
            "UPDATE scheduled_calls SET status = 'IN_PROGRESS', current_call_sid = $2, \
            lease_until = $3, updated_at = $4 WHERE id = $1 AND status = 'DIALING' \
            AND current_call_sid IS NULL AND in_doubt_since IS NOT NULL";
        const SESSION: &str = "INSERT INTO call_sessions (call_sid, lead_id, campaign_id, \
            scheduled_call_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, 'INITIATED', $5, $5) \
            ON CONFLICT (call_sid) DO NOTHING";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let fresh = sqlx::query(CALL).bind(claim.scheduled_call_id).bind(call_sid)
                .bind(lease_until).bind(now).execute(&mut *tx).await?.rows_affected() > 0;
            let adopted = !fresh && sqlx::query(IN_DOUBT).bind(claim.scheduled_call_id).bind(call_sid)
                .bind(lease_until).bind(now).execute(&mut *tx).await?.rows_affected() > 0;
            if !fresh && !adopted {
                return Err(StoreError::Conflict(format!(
                    "scheduled call {} is no longer claimed", claim.scheduled_call_id
                )));
            }
            sqlx::query(SESSION).bind(call_sid).bind(claim.lead_id).bind(campaign_id)
                .bind(claim.scheduled_call_id).bind(now).execute(&mut *tx).await?;
            if fresh {
                count_attempt(&mut tx, claim.lead_id, campaign_id, LeadStatus::InProgress, now).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Gives a claim back without counting an attempt (the dial never reached Exotel, or the
    /// campaign was paused before it did): the row is PENDING again from `retry_at`. A dial in
    /// doubt is never given back: it may be ringing.
    pub async fn release_claim(
        &self,
        scheduled_call_id: i64,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE scheduled_calls SET status = 'PENDING', claimed_by = NULL, \
            lease_until = NULL, scheduled_time = $2, updated_at = $3 \
            WHERE id = $1 AND status = 'DIALING' AND current_call_sid IS NULL \
            AND in_doubt_since IS NULL";
        let changed = on_pool!(self, p => sqlx::query(SQL).bind(scheduled_call_id).bind(retry_at)
            .bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Closes an attempt once, whoever reports its end first (terminal webhook, reconciliation,
    /// a refused dial): the call session (if any) takes its final status, the scheduled call
    /// ends, and the lead moves on as `end.next` says (a new scheduled call for a retry).
    /// Returns false, changing nothing, when the attempt was already closed.
    pub async fn close_attempt(
        &self,
        attempt: &AttemptRow,
        end: &AttemptEnd,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SESSION: &str = "UPDATE call_sessions SET status = $2, \
            answered_at = COALESCE(answered_at, $3), ended_at = $4, duration_seconds = $5, \
            recording_url = COALESCE($6, recording_url), updated_at = $4 \
            WHERE call_sid = $1 AND status NOT IN ('COMPLETED','FAILED','BUSY','NO_ANSWER','CANCELED')";
        const CALL: &str = "UPDATE scheduled_calls SET status = $2, failure_reason = $3, \
            lease_until = NULL, updated_at = $4 WHERE id = $1 AND status IN ('DIALING','IN_PROGRESS')";
        let call_status = if end.status == CallStatus::Completed {
            "COMPLETED"
        } else {
            "FAILED"
        };
        let closed = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            if let Some(sid) = &attempt.current_call_sid {
                sqlx::query(SESSION).bind(sid).bind(end.status.as_str()).bind(end.answered_at)
                    .bind(now).bind(end.duration_seconds).bind(&end.recording_url)
                    .execute(&mut *tx).await?;
            }
            let closed = sqlx::query(CALL).bind(attempt.scheduled_call_id).bind(call_status)
                .bind(&end.failure_reason).bind(now).execute(&mut *tx).await?.rows_affected();
            if closed == 0 {
                false
            } else {
                // Nobody answered (busy, no answer, failed, a refused dial): the webhook hears
                // it now. An answered call's event comes with its conversation instead, and so
                // does one lost to a crash (`save_interrupted_conversation`).
                let interrupted = end.failure_reason.as_deref() == Some(INTERRUPTED_REASON);
                if end.status != CallStatus::Completed && !interrupted {
                    let call_id: Option<i64> = match &attempt.current_call_sid {
                        Some(sid) => sqlx::query_scalar("SELECT id FROM call_sessions WHERE call_sid = $1")
                            .bind(sid).fetch_optional(&mut *tx).await?,
                        None => None,
                    };
                    let event = unanswered_event(attempt, end, call_id, now).to_string();
                    sqlx::query(super::webhooks::ENQUEUE).bind(attempt.campaign_id).bind("call.ended")
                        .bind(&event).bind(now).execute(&mut *tx).await?;
                }
                if !attempt.counted() {
                    // A refused dial is still an attempt on the lead.
                    count_attempt(&mut tx, attempt.lead_id, attempt.campaign_id, LeadStatus::InProgress, now).await?;
                }
                match end.next {
                    NextStep::RetryAt(at) => {
                        const RETRY: &str = "INSERT INTO scheduled_calls (campaign_id, lead_id, scheduled_time, \
                            status, attempt_number, max_attempts, created_at, updated_at) \
                            SELECT campaign_id, lead_id, $2, 'PENDING', attempt_number + 1, max_attempts, $3, $3 \
                            FROM scheduled_calls WHERE id = $1";
                        sqlx::query(RETRY).bind(attempt.scheduled_call_id).bind(at).bind(now)
                            .execute(&mut *tx).await?;
                        set_lead_status(&mut tx, attempt.lead_id, LeadStatus::Scheduled).await?;
                    }
                    NextStep::Done | NextStep::Exhausted | NextStep::Failed => {
                        let status = match end.next {
                            NextStep::Done => LeadStatus::Completed,
                            NextStep::Exhausted => LeadStatus::Exhausted,
                            _ => LeadStatus::Failed,
                        };
                        set_lead_status(&mut tx, attempt.lead_id, status).await?;
                        const DONE: &str = "UPDATE campaigns SET leads_completed = leads_completed + 1, \
                            updated_at = $2 WHERE id = $1";
                        sqlx::query(DONE).bind(attempt.campaign_id).bind(now).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                true
            }
        });
        Ok(closed)
    }

    /// The end of an answered call, from its media session: the conversation, the call
    /// session's end and duration, the lead's verdict and what happens next (done, or the
    /// callback the lead asked for), all in one transaction. If the terminal status callback
    /// closed the attempt first, the conversation and verdict are still saved, and a callback
    /// replaces the lead's end.
    pub async fn finish_answered_call(
        &self,
        attempt: &AttemptRow,
        end: &AttemptEnd,
        conversation: &ConversationSummary,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Returns the call's id and recordings, for the event's links.
        const SESSION: &str = "UPDATE call_sessions SET status = 'COMPLETED', \
            answered_at = COALESCE(answered_at, $2), ended_at = COALESCE(ended_at, $3), \
            duration_seconds = COALESCE(duration_seconds, $4), \
            recording_file = COALESCE($5, recording_file), updated_at = $3 WHERE call_sid = $1 \
            RETURNING id, recording_file, recording_url";
        const CONVERSATION: &str =
            "INSERT INTO conversations (call_session_id, transcript_history, \
            final_outcome, lead_qualified, extracted_data, created_at) \
            SELECT id, $2, $3, $4, $5, $6 FROM call_sessions WHERE call_sid = $1 \
            ON CONFLICT (call_session_id) DO NOTHING";
        const QUALIFY: &str = "UPDATE leads SET qualified = COALESCE($2, qualified) WHERE id = $1";
        const CALL: &str = "UPDATE scheduled_calls SET status = 'COMPLETED', lease_until = NULL, \
            updated_at = $2 WHERE id = $1 AND status IN ('DIALING','IN_PROGRESS')";
        let sid = attempt.current_call_sid.clone().unwrap_or_default();
        let recording_file = conversation
            .recording_file
            .as_ref()
            .map(RecordingName::as_str);
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let session: Option<(i64, Option<String>, Option<String>)> = sqlx::query_as(SESSION)
                .bind(&sid).bind(end.answered_at).bind(now).bind(end.duration_seconds)
                .bind(recording_file).fetch_optional(&mut *tx).await?;
            let event = call_ended_event(attempt, end, conversation, &sid, session.as_ref(), now)
                .to_string();
            let saved = sqlx::query(CONVERSATION).bind(&sid).bind(sqlx::types::Json(&conversation.transcript))
                .bind(&conversation.final_outcome).bind(conversation.lead_qualified)
                .bind(sqlx::types::Json(&conversation.extracted_data)).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if saved == 0 {
                // Saved before (a retry after an unclear commit, or a spool replayed twice):
                // the rest was written in that same transaction, so nothing is left to do.
                return Ok(());
            }
            sqlx::query(QUALIFY).bind(attempt.lead_id).bind(conversation.lead_qualified)
                .execute(&mut *tx).await?;
            // The campaign's webhook hears of it: queued with the call, so never lost.
            sqlx::query(super::webhooks::ENQUEUE).bind(attempt.campaign_id).bind("call.ended")
                .bind(&event).bind(now).execute(&mut *tx).await?;
            if conversation.opted_out {
                // In the conversation's own transaction: an opt-out is never lost.
                const SUPPRESS: &str = "INSERT INTO suppressions (phone, reason, source, created_at) \
                    SELECT phone, $2, $3, $4 FROM leads WHERE id = $1 ON CONFLICT (phone) DO NOTHING";
                let reason = format!(
                    "asked not to be called again (campaign {}, call {sid})",
                    attempt.campaign_id
                );
                sqlx::query(SUPPRESS).bind(attempt.lead_id).bind(reason)
                    .bind(SuppressionSource::Call.as_str()).bind(now).execute(&mut *tx).await?;
            }
            let closed_now = sqlx::query(CALL).bind(attempt.scheduled_call_id).bind(now)
                .execute(&mut *tx).await?.rows_affected() > 0;
            match end.next {
                NextStep::RetryAt(at) => {
                    // A free call-back does not use one of the lead's attempts (decide_callback).
                    const RETRY: &str = "INSERT INTO scheduled_calls (campaign_id, lead_id, scheduled_time, \
                        status, attempt_number, max_attempts, created_at, updated_at) \
                        SELECT campaign_id, lead_id, $2, 'PENDING', attempt_number + 1, \
                        max_attempts + $4, $3, $3 FROM scheduled_calls WHERE id = $1";
                    const FREE: &str = "UPDATE leads SET free_callbacks_used = free_callbacks_used + 1 \
                        WHERE id = $1";
                    let free = i64::from(conversation.free_callback);
                    sqlx::query(RETRY).bind(attempt.scheduled_call_id).bind(at).bind(now).bind(free)
                        .execute(&mut *tx).await?;
                    if conversation.free_callback {
                        sqlx::query(FREE).bind(attempt.lead_id).execute(&mut *tx).await?;
                    }
                    set_lead_status(&mut tx, attempt.lead_id, LeadStatus::Scheduled).await?;
                    if !closed_now {
                        // The status callback had counted the lead as done.
                        const UNDONE: &str = "UPDATE campaigns SET leads_completed = leads_completed - 1 \
                            WHERE id = $1 AND leads_completed > 0";
                        sqlx::query(UNDONE).bind(attempt.campaign_id).execute(&mut *tx).await?;
                    }
                }
                // A machine answered the last attempt: the lead was never reached. Replaces the
                // end the status callback may have written first (it cannot tell a machine).
                NextStep::Exhausted => {
                    set_lead_status(&mut tx, attempt.lead_id, LeadStatus::Exhausted).await?;
                    if closed_now {
                        const DONE: &str = "UPDATE campaigns SET leads_completed = leads_completed + 1, \
                            updated_at = $2 WHERE id = $1";
                        sqlx::query(DONE).bind(attempt.campaign_id).bind(now).execute(&mut *tx).await?;
                    }
                }
                _ if closed_now => {
                    set_lead_status(&mut tx, attempt.lead_id, LeadStatus::Completed).await?;
                    const DONE: &str = "UPDATE campaigns SET leads_completed = leads_completed + 1, \
                        updated_at = $2 WHERE id = $1";
                    sqlx::query(DONE).bind(attempt.campaign_id).bind(now).execute(&mut *tx).await?;
                }
                _ => {}
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Duration and recording from Exotel for a call whose end the conversation records.
    pub async fn record_call_details(
        &self,
        call_sid: &str,
        duration_seconds: Option<i64>,
        recording_url: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE call_sessions SET duration_seconds = COALESCE($2, duration_seconds), \
            recording_url = COALESCE($3, recording_url), updated_at = $4 WHERE call_sid = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(call_sid).bind(duration_seconds).bind(recording_url)
            .bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Moves a live call's session forward (ringing, answered); earlier or equal stages and
    /// anything after a terminal status are ignored. Returns whether it changed.
    pub async fn note_call_progress(
        &self,
        call_sid: &str,
        status: CallStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let earlier: &[&str] = match status {
            CallStatus::Ringing => &["INITIATED"],
            CallStatus::InProgress => &["INITIATED", "RINGING"],
            _ => return Ok(false),
        };
        let answered = (status == CallStatus::InProgress).then_some(now);
        let changed = on_pool!(self, p => {
            let mut qb = QueryBuilder::new("UPDATE call_sessions SET status = ");
            qb.push_bind(status.as_str())
                .push(", answered_at = COALESCE(answered_at, ")
                .push_bind(answered)
                .push("), updated_at = ")
                .push_bind(now)
                .push(" WHERE call_sid = ")
                .push_bind(call_sid)
                .push(" AND status IN (");
            let mut list = qb.separated(", ");
            for s in earlier {
                list.push_bind(*s);
            }
            qb.push(")");
            qb.build().execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(changed > 0)
    }

    /// The attempt a call belongs to, by Exotel's call sid.
    pub async fn attempt_by_call_sid(
        &self,
        call_sid: &str,
    ) -> Result<Option<AttemptRow>, StoreError> {
        let sql =
            format!("SELECT {ATTEMPT_COLUMNS} FROM scheduled_calls WHERE current_call_sid = $1");
        let row = on_pool!(self, p => sqlx::query_as::<_, AttemptRow>(&sql).bind(call_sid).fetch_optional(p).await)?;
        Ok(row)
    }

    pub async fn attempt(&self, scheduled_call_id: i64) -> Result<Option<AttemptRow>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM scheduled_calls WHERE id = $1");
        let row = on_pool!(self, p => sqlx::query_as::<_, AttemptRow>(&sql).bind(scheduled_call_id).fetch_optional(p).await)?;
        Ok(row)
    }

    /// Claims of a campaign being dialed or on the phone (their tokens are in use). Dials in
    /// doubt are not among them: they hold no token while they wait to be settled.
    pub async fn in_flight_attempts(
        &self,
        campaign_id: i64,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM scheduled_calls WHERE campaign_id = $1 \
             AND (status = 'IN_PROGRESS' OR (status = 'DIALING' AND in_doubt_since IS NULL)) \
             ORDER BY id"
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, AttemptRow>(&sql).bind(campaign_id).fetch_all(p).await)?;
        Ok(rows)
    }

    pub async fn extend_lease(
        &self,
        scheduled_call_id: i64,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE scheduled_calls SET lease_until = $2 WHERE id = $1 \
            AND status IN ('DIALING','IN_PROGRESS')";
        on_pool!(self, p => sqlx::query(SQL).bind(scheduled_call_id).bind(until).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Work left in a campaign at `now`: NEW leads, scheduled calls not yet ended, and
    /// transfers to a person that may still owe the lead a call-back — not settled yet, or
    /// missed with the call-back not booked yet (it waits for the call's save). Each for at
    /// most `UNSETTLED_FOR_AT_MOST`: a result or a save lost on the way does not hold the
    /// campaign open for good. A campaign completed before its last lead's missed transfer
    /// was settled never made the call-back.
    pub async fn open_work(&self, campaign_id: i64, now: DateTime<Utc>) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT \
            (SELECT COUNT(*) FROM leads WHERE campaign_id = $1 AND status = 'NEW') + \
            (SELECT COUNT(*) FROM scheduled_calls WHERE campaign_id = $1 \
             AND status IN ('PENDING','DIALING','IN_PROGRESS')) + \
            (SELECT COUNT(*) FROM transfers WHERE campaign_id = $1 \
             AND ((result IS NULL AND requested_at > $2) \
               OR (result = 'missed' AND callback_at IS NOT NULL AND callback_booked_at IS NULL \
                   AND settled_at > $2)))";
        let settling_since = now - super::transfers::UNSETTLED_FOR_AT_MOST;
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(SQL).bind(campaign_id)
            .bind(settling_since).fetch_one(p).await)?;
        Ok(n)
    }

    /// The earliest pending call's time and how many are due at `now`.
    pub async fn pending_summary(
        &self,
        campaign_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(Option<DateTime<Utc>>, i64), StoreError> {
        const NEXT: &str = "SELECT MIN(scheduled_time) FROM scheduled_calls \
            WHERE campaign_id = $1 AND status = 'PENDING'";
        const DUE: &str = "SELECT COUNT(*) FROM scheduled_calls \
            WHERE campaign_id = $1 AND status = 'PENDING' AND scheduled_time <= $2";
        let next: Option<DateTime<Utc>> =
            on_pool!(self, p => sqlx::query_scalar(NEXT).bind(campaign_id).fetch_one(p).await)?;
        let due: i64 = on_pool!(self, p => sqlx::query_scalar(DUE).bind(campaign_id).bind(now).fetch_one(p).await)?;
        Ok((next, due))
    }
}

/// Counts one more attempt on a lead (and the campaign's `leads_called` on its first).
pub(super) async fn count_attempt<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    lead_id: i64,
    campaign_id: i64,
    status: LeadStatus,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'a> &'a mut DB::Connection: sqlx::Executor<'a, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    const FIRST: &str = "UPDATE campaigns SET leads_called = leads_called + 1 WHERE id = $1 \
        AND EXISTS (SELECT 1 FROM leads WHERE id = $2 AND call_attempts = 0)";
    const LEAD: &str =
        "UPDATE leads SET call_attempts = call_attempts + 1, last_call_attempt = $2, \
        status = $3 WHERE id = $1";
    sqlx::query(FIRST)
        .bind(campaign_id)
        .bind(lead_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(LEAD)
        .bind(lead_id)
        .bind(now)
        .bind(status.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The `call.ended` event's own fields (the sender adds the lead's and campaign's names, and
/// makes the links absolute, when it sends it). `session` is the call's id and stored
/// recordings; its recording link is there when the runtime's recording was finalised in time
/// for the save, or Exotel's URL was known by then.
fn call_ended_event(
    attempt: &AttemptRow,
    end: &AttemptEnd,
    conversation: &ConversationSummary,
    call_sid: &str,
    session: Option<&(i64, Option<String>, Option<String>)>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let recording = session.and_then(|(id, file, url)| {
        CallRecording::from_columns(file.as_deref(), url.as_deref()).link(*id)
    });
    let mut links = serde_json::Map::new();
    if let Some(recording) = recording {
        links.insert("recording".into(), recording.into());
    }
    serde_json::json!({
        "call_id": session.map(|(id, _, _)| *id),
        "event": "call.ended",
        "answered": true,
        "campaign_id": attempt.campaign_id,
        "lead_id": attempt.lead_id,
        "scheduled_call_id": attempt.scheduled_call_id,
        "attempt": attempt.attempt_number,
        "call_sid": call_sid,
        "outcome": conversation.final_outcome,
        "qualified": conversation.lead_qualified,
        "facts": conversation.extracted_data,
        "duration_seconds": end.duration_seconds,
        "answered_at": end.answered_at,
        "ended_at": now,
        "recording_url": end.recording_url,
        "links": links,
    })
}

/// The `call.ended` event of a call nobody answered: its status, and the retry planned.
fn unanswered_event(
    attempt: &AttemptRow,
    end: &AttemptEnd,
    call_id: Option<i64>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "call_id": call_id,
        "event": "call.ended",
        "campaign_id": attempt.campaign_id,
        "lead_id": attempt.lead_id,
        "scheduled_call_id": attempt.scheduled_call_id,
        "attempt": attempt.attempt_number,
        "call_sid": attempt.current_call_sid,
        "answered": false,
        "status": end.status.as_str(),
        "failure_reason": end.failure_reason,
        "outcome": serde_json::Value::Null,
        "qualified": serde_json::Value::Null,
        "facts": {},
        "duration_seconds": end.duration_seconds,
        "ended_at": now,
        "retry_at": match end.next {
            NextStep::RetryAt(at) => Some(at),
            _ => None,
        },
        "links": {},
    })
}

async fn set_lead_status<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    lead_id: i64,
    status: LeadStatus,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'a> &'a mut DB::Connection: sqlx::Executor<'a, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    const SQL: &str = "UPDATE leads SET status = $2 WHERE id = $1";
    sqlx::query(SQL)
        .bind(lead_id)
        .bind(status.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
