//! Reconciliation, run at the start of every scheduling round: claims whose lease ran out
//! while nobody in this process was dialing them, and dials in doubt whose lookup is due.
//!
//! - An expired claim with no call sid may have reached Exotel before its process died (the
//!   crash window): it is put in doubt (counted) and settled like any other dial in doubt, never
//!   simply dialed again.
//! - An expired claim with a call sid is looked up with Call Details: ended → closed exactly as
//!   its status callback would have; still live → asked again `EXOTEL_SETTLE_SECONDS` later (its
//!   callback may be going to the dead process); Exotel unreachable → a minute.
//! - A dial in doubt is looked up in Exotel's call list (by the lead's number, around the time
//!   of the dial) and settled by the pure rules of `scheduling::dial_settlement`.

use chrono::{DateTime, Duration, Utc};

use super::Engine;
use crate::domain::{CallStatus, Phone};
use crate::scheduling::dial_settlement::{settle, InDoubt, Lookup, SettleTiming, Settlement};
use crate::scheduling::NextStep;
use crate::store::{AttemptEnd, AttemptRow, DueInDoubt, StoreError};
use crate::telephony::call_outcome::{
    adopt_unrecorded, apply_status, lead_retry_policy, retry_window, Applied, StatusUpdate,
};
use crate::telephony::exotel::{CallRef, ListedCall};

/// How far before the doubt began Exotel's call list is searched: the request went out at most
/// one request timeout earlier, or (the crash window) at most one dial lease earlier.
const LOOKBACK: Duration = Duration::minutes(15);

/// After a failed lookup, Exotel is asked again this much later.
const LOOKUP_RETRY: Duration = Duration::seconds(60);

/// Settles what can be settled and returns the ids of the campaign's calls still in flight
/// (those hold concurrency tokens).
pub async fn reconcile(
    engine: &Engine,
    campaign_id: i64,
    now: DateTime<Utc>,
) -> Result<InFlight, StoreError> {
    let store = &engine.store;
    let mut in_flight = InFlight::default();
    for attempt in store.in_flight_attempts(campaign_id).await? {
        let ours = engine.live_dials.contains(attempt.scheduled_call_id);
        let expired = !ours && attempt.lease_until.is_none_or(|lease| lease <= now);
        if expired && settle_expired(engine, &attempt, now).await? {
            continue;
        }
        in_flight.all.push(attempt.scheduled_call_id);
        if attempt.claimed_by.as_deref() == Some(engine.settings.node_id.as_str()) {
            in_flight.mine.push(attempt.scheduled_call_id);
        }
    }
    for due in store.due_in_doubt(campaign_id, now).await? {
        settle_in_doubt(engine, due, now).await?;
    }
    Ok(in_flight)
}

/// A campaign's calls in flight after reconciliation.
#[derive(Debug, Default)]
pub struct InFlight {
    /// On every node: what the campaign's cap counts.
    pub all: Vec<i64>,
    /// Claimed by this node (before a restart too): what holds this node's tokens.
    pub mine: Vec<i64>,
}

/// Returns true when the attempt is no longer in flight.
async fn settle_expired(
    engine: &Engine,
    attempt: &AttemptRow,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let store = &engine.store;
    let Some(sid) = &attempt.current_call_sid else {
        tracing::warn!(
            scheduled_call_id = attempt.scheduled_call_id,
            "dial claim expired with no record of its answer; in doubt until settled"
        );
        // Its request went out, if at all, before its lease ran out: however long this node was
        // down, Exotel's call list is searched around then, not around now.
        let since = attempt.lease_until.map_or(now, |lease| lease.min(now));
        store
            .mark_in_doubt(attempt, since, now + engine.settle_after(), now)
            .await?;
        return Ok(true);
    };
    match engine.exotel.call_details(sid).await {
        Ok(info) if info.status.is_some_and(CallStatus::is_terminal) => {
            let update = StatusUpdate {
                call_sid: sid.clone(),
                status: info.status.unwrap_or(CallStatus::Failed),
                duration_seconds: info.duration_seconds,
                recording_url: info.recording_url,
                call_ref: None,
            };
            let applied = apply_status(engine, &update).await?;
            tracing::info!(call_sid = %sid, ?applied, "reconciled an expired call with Exotel");
            Ok(matches!(applied, Applied::Ended { .. } | Applied::Ignored))
        }
        Ok(_) => {
            store
                .extend_lease(
                    attempt.scheduled_call_id,
                    now + engine.recheck_orphaned_call(),
                )
                .await?;
            Ok(false)
        }
        Err(e) => {
            tracing::warn!(call_sid = %sid, error = %e, "could not reconcile; will try again");
            store
                .extend_lease(attempt.scheduled_call_id, now + Duration::minutes(1))
                .await?;
            Ok(false)
        }
    }
}

/// Looks a dial in doubt up in Exotel's call list and acts on the settlement.
async fn settle_in_doubt(
    engine: &Engine,
    due: DueInDoubt,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let store = &engine.store;
    let attempt = due.attempt;
    let since = attempt.in_doubt_since.unwrap_or(now);
    let lookup = match engine
        .exotel
        .calls_to(&Phone::from_trusted(due.phone), since - LOOKBACK, now)
        .await
    {
        Ok(calls) => Lookup::Listed(unknown_to_us(engine, calls).await?),
        Err(e) => {
            tracing::warn!(scheduled_call_id = attempt.scheduled_call_id, error = %e, "call list lookup failed");
            Lookup::Failed
        }
    };
    let campaign = store.campaign(attempt.campaign_id).await?;
    let policy = lead_retry_policy(engine, &campaign, attempt.lead_id).await?;
    let doubt = InDoubt {
        since,
        call_ref: CallRef {
            campaign_id: attempt.campaign_id,
            lead_id: attempt.lead_id,
            scheduled_call_id: attempt.scheduled_call_id,
            attempt: attempt.attempt_number,
        },
    };
    let timing = SettleTiming {
        // One retry-policy minute (seconds in the sandbox).
        not_placed_retry: Duration::seconds(i64::from(engine.settings.retry_minute_seconds)),
        lookup_retry: LOOKUP_RETRY,
    };
    let number = u32::try_from(attempt.attempt_number).unwrap_or(u32::MAX);
    let settlement = settle(
        &doubt,
        number,
        lookup,
        &policy,
        &retry_window(&campaign, engine.settings.calling.regulatory_hours),
        now,
        timing,
    );
    tracing::info!(
        scheduled_call_id = attempt.scheduled_call_id,
        ?settlement,
        "dial in doubt settled"
    );
    match settlement {
        Settlement::Adopt(call) => adopt(engine, &attempt, call).await,
        Settlement::NotPlaced { next } => {
            let reason = "not placed (Exotel's call list has no such call)";
            close(engine, &attempt, CallStatus::Failed, reason, next, now).await
        }
        Settlement::NoAnswer { next } => {
            let reason = "in doubt past the no-answer delay: treated as no-answer";
            close(engine, &attempt, CallStatus::NoAnswer, reason, next, now).await
        }
        Settlement::AskAgainAt(at) => store.extend_lease(attempt.scheduled_call_id, at).await,
    }
}

/// Drops the listed calls that already belong to one of our attempts.
async fn unknown_to_us(
    engine: &Engine,
    calls: Vec<ListedCall>,
) -> Result<Vec<ListedCall>, StoreError> {
    let mut unknown = Vec::with_capacity(calls.len());
    for call in calls {
        if !engine.store.knows_call_sid(&call.sid).await? {
            unknown.push(call);
        }
    }
    Ok(unknown)
}

/// Records the listed call as this attempt's, then closes it if it already ended.
async fn adopt(engine: &Engine, attempt: &AttemptRow, call: ListedCall) -> Result<(), StoreError> {
    if adopt_unrecorded(engine, attempt.scheduled_call_id, &call.sid)
        .await?
        .is_none()
    {
        // A callback or the media socket settled it meanwhile.
        return Ok(());
    }
    tracing::warn!(call_sid = %call.sid, "adopted a dial in doubt from Exotel's call list");
    let Some(status) = call.status.filter(|s| s.is_terminal()) else {
        // Still live: the process that dialed it is gone, so its callback may never come.
        let recheck = engine.clock.now() + engine.recheck_orphaned_call();
        return engine
            .store
            .extend_lease(attempt.scheduled_call_id, recheck)
            .await;
    };
    let update = StatusUpdate {
        call_sid: call.sid,
        status,
        duration_seconds: call.duration_seconds,
        recording_url: call.recording_url,
        call_ref: None,
    };
    apply_status(engine, &update).await?;
    Ok(())
}

/// Ends an attempt in doubt that rang nobody (or is taken as unanswered); it stays counted.
async fn close(
    engine: &Engine,
    attempt: &AttemptRow,
    status: CallStatus,
    reason: &str,
    next: NextStep,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let end = AttemptEnd {
        status,
        failure_reason: Some(reason.to_string()),
        answered_at: None,
        duration_seconds: None,
        recording_url: None,
        next,
    };
    engine.store.close_attempt(attempt, &end, now).await?;
    Ok(())
}
