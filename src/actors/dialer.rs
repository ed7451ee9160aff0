//! The dialer: turns one claimed scheduled call into an Exotel request and records the result.
//! Not an actor: a future the campaign actor spawns per claim (and cancels by stopping).
//!
//! At most once: only a dial that provably placed nothing (the connection failed before the
//! request was written, or 429) is sent again, with exponential backoff and jitter while the
//! claim's lease is extended. A dial that may have placed a call (a timeout or reset after the
//! request was written, a 5xx, a 2xx without a readable `Call.Sid`) is counted at once and left
//! *in doubt* for reconciliation to settle (`src/actors/reconcile.rs`); it is never sent again on
//! a guess. A refused dial closes the attempt. The claim's lease is kept alive while the dial
//! waits for its pacing slot, so reconciliation never takes a claim whose dial is still coming.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{Engine, LiveCall};
use crate::domain::{CallStatus, Phone};
use crate::scheduling::NextStep;
use crate::store::{AttemptEnd, AttemptRow, ClaimedCall, StoreError};
use crate::telephony::call_outcome::calling_window;
use crate::telephony::exotel::{CallRef, ConnectCall, ExotelError};

/// Tries per dial before the claim is handed back for later.
const MAX_TRIES: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// How one dial ended, for the campaign actor's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialOutcome {
    /// Exotel accepted the call; its token stays in use until the call ends.
    Placed { call_sid: String },
    /// The attempt is over (refused number); its token is free.
    Refused { reason: String },
    /// The claim went back to PENDING (paused, or Exotel kept failing); its token is free.
    Released { reason: String },
    /// Exotel may have placed the call: the attempt is counted and waits to be settled; its
    /// token is free (an adopted call takes one again).
    InDoubt { reason: String },
    /// Exotel rejected our credentials: dialing stops until an operator acts.
    CredentialsRejected { reason: String },
}

impl DialOutcome {
    /// Whether the call's concurrency token is still in use after this outcome.
    pub fn holds_token(&self) -> bool {
        matches!(self, DialOutcome::Placed { .. })
    }
}

/// The campaign facts a dial needs.
#[derive(Debug, Clone, Copy)]
pub struct DialContext {
    pub campaign_id: i64,
}

pub async fn dial(
    engine: Engine,
    ctx: DialContext,
    claim: ClaimedCall,
    paused: Arc<AtomicBool>,
) -> DialOutcome {
    match try_dial(&engine, ctx, &claim, &paused).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // The database failed us; the lease will expire and reconciliation will settle it.
            tracing::error!(scheduled_call_id = claim.scheduled_call_id, error = %e, "dial bookkeeping failed");
            DialOutcome::Released {
                reason: e.to_string(),
            }
        }
    }
}

async fn try_dial(
    engine: &Engine,
    ctx: DialContext,
    claim: &ClaimedCall,
    paused: &AtomicBool,
) -> Result<DialOutcome, StoreError> {
    let call_ref = CallRef {
        campaign_id: ctx.campaign_id,
        lead_id: claim.lead_id,
        scheduled_call_id: claim.scheduled_call_id,
        attempt: claim.attempt_number,
    };
    let request = ConnectCall {
        to: Phone::from_trusted(claim.phone.clone()),
        call_ref,
        status_callback: engine.status_callback_url(&call_ref),
        stream_url: engine.media_url(&call_ref.encode()),
        time_limit_seconds: engine.settings.max_call_duration_minutes * 60,
    };
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_TRIES {
        wait_for_slot(engine, claim).await?;
        if let Some((reason, retry_at)) = hold_back(engine, ctx, claim, paused).await? {
            return release_until(engine, claim, reason, retry_at).await;
        }
        let error = match engine.exotel.connect(&request).await {
            Ok(info) => return placed(engine, ctx, claim, info.sid).await,
            Err(e) => e,
        };
        tracing::warn!(scheduled_call_id = claim.scheduled_call_id, try_no = attempt, error = %error, "dial failed");
        match error {
            ExotelError::Transient(_) if attempt < MAX_TRIES => {
                let lease = engine.clock.now() + engine.dial_lease();
                engine
                    .store
                    .extend_lease(claim.scheduled_call_id, lease)
                    .await?;
                tokio::time::sleep(jittered(backoff)).await;
                backoff *= 2;
            }
            ExotelError::Transient(reason) => return release(engine, claim, &reason, 60).await,
            ExotelError::MaybePlaced(reason) => return in_doubt(engine, ctx, claim, reason).await,
            ExotelError::Permanent { .. } => {
                return refused(engine, ctx, claim, error.to_string()).await
            }
            ExotelError::Auth { .. } | ExotelError::NotConfigured(_) => {
                release(engine, claim, "credentials", 0).await?;
                return Ok(DialOutcome::CredentialsRejected {
                    reason: error.to_string(),
                });
            }
        }
    }
    release(engine, claim, "retries exhausted", 60).await
}

/// Waits for this dial's pacing slot (`EXOTEL_CALLS_PER_MINUTE`, node-wide), renewing the
/// claim's lease meanwhile: with hundreds of claims queued, a slot can be minutes away. A
/// shutdown ends the wait at once (`hold_back` then gives the claim back).
async fn wait_for_slot(engine: &Engine, claim: &ClaimedCall) -> Result<(), StoreError> {
    let slot = engine.pacer.until_ready();
    tokio::pin!(slot);
    let drain = engine.until_draining();
    tokio::pin!(drain);
    let renew_every = (engine.dial_lease() / 3)
        .to_std()
        .unwrap_or(Duration::from_secs(40));
    loop {
        tokio::select! {
            () = &mut slot => return Ok(()),
            () = &mut drain => return Ok(()),
            () = tokio::time::sleep(renew_every) => {
                let lease = engine.clock.now() + engine.dial_lease();
                engine.store.extend_lease(claim.scheduled_call_id, lease).await?;
            }
        }
    }
}

/// Why a claimed dial must not go out now, and when its call may be tried again. Checked after
/// every wait, right before the request: the pacing slot (or a retry's backoff) can come
/// minutes after the claim, and by then the campaign may be paused, its window shut, the
/// number opted out or the node shutting down.
async fn hold_back(
    engine: &Engine,
    ctx: DialContext,
    claim: &ClaimedCall,
    paused: &AtomicBool,
) -> Result<Option<(&'static str, DateTime<Utc>)>, StoreError> {
    let now = engine.clock.now();
    if paused.load(Ordering::Acquire) {
        return Ok(Some(("campaign paused before the dial", now)));
    }
    let campaign = engine.store.campaign(ctx.campaign_id).await?;
    match calling_window(&campaign, engine.settings.calling.regulatory_hours) {
        Ok(window) if !window.is_open(now) => {
            let reason = "calling window closed before the dial";
            return Ok(Some((reason, window.next_allowed(now))));
        }
        // The round pauses the campaign and says why; nothing is dialed meanwhile.
        Err(_) => {
            let reason = "calling window unreadable";
            return Ok(Some((reason, now + chrono::Duration::minutes(1))));
        }
        Ok(_) => {}
    }
    // The round closes the released call (the claim itself skips suppressed numbers).
    let phone = std::slice::from_ref(&claim.phone);
    if !engine.store.suppressed_among(phone).await?.is_empty() {
        return Ok(Some(("number suppressed before the dial", now)));
    }
    // Last, right before the request: not one dial may leave after SIGTERM.
    if engine.draining() {
        return Ok(Some(("node shutting down before the dial", now)));
    }
    Ok(None)
}

/// Backoff ± 50 %, so that many dials failing together do not retry together.
fn jittered(base: Duration) -> Duration {
    base.mul_f64(rand::thread_rng().gen_range(0.5..1.5))
}

async fn placed(
    engine: &Engine,
    ctx: DialContext,
    claim: &ClaimedCall,
    call_sid: String,
) -> Result<DialOutcome, StoreError> {
    // The phone rings for seconds: the greeting is synthesised meanwhile.
    let call_ref = CallRef {
        campaign_id: ctx.campaign_id,
        lead_id: claim.lead_id,
        scheduled_call_id: claim.scheduled_call_id,
        attempt: claim.attempt_number,
    };
    engine.greetings.prepare(engine.store.clone(), call_ref);
    let now = engine.clock.now();
    engine
        .store
        .mark_dialed(
            claim,
            ctx.campaign_id,
            &call_sid,
            now + engine.call_lease(),
            now,
        )
        .await?;
    engine.registry.register(LiveCall {
        call_sid: call_sid.clone(),
        campaign_id: ctx.campaign_id,
        lead_id: claim.lead_id,
        scheduled_call_id: claim.scheduled_call_id,
        attempt: claim.attempt_number,
        lead_name: claim.lead_name.clone(),
        phone: claim.phone.clone(),
        status: CallStatus::Initiated,
        dialed_at: now,
        actor: None,
    });
    tracing::info!(campaign_id = ctx.campaign_id, lead_id = claim.lead_id, %call_sid, attempt = claim.attempt_number, "call placed");
    Ok(DialOutcome::Placed { call_sid })
}

/// The claim as an attempt row, before anything was recorded of its dial.
fn unrecorded(ctx: DialContext, claim: &ClaimedCall) -> AttemptRow {
    AttemptRow {
        scheduled_call_id: claim.scheduled_call_id,
        campaign_id: ctx.campaign_id,
        lead_id: claim.lead_id,
        attempt_number: claim.attempt_number,
        status: "DIALING".into(),
        current_call_sid: None,
        claimed_by: None,
        lease_until: None,
        in_doubt_since: None,
    }
}

/// Exotel may have placed the call: count the attempt now and leave it to be settled.
async fn in_doubt(
    engine: &Engine,
    ctx: DialContext,
    claim: &ClaimedCall,
    reason: String,
) -> Result<DialOutcome, StoreError> {
    let now = engine.clock.now();
    let attempt = unrecorded(ctx, claim);
    // False when a status callback adopted the call first: it is counted either way.
    engine
        .store
        .mark_in_doubt(&attempt, now, now + engine.settle_after(), now)
        .await?;
    tracing::warn!(
        campaign_id = ctx.campaign_id,
        scheduled_call_id = claim.scheduled_call_id,
        %reason,
        "dial in doubt: counted, never sent again until settled"
    );
    Ok(DialOutcome::InDoubt { reason })
}

async fn refused(
    engine: &Engine,
    ctx: DialContext,
    claim: &ClaimedCall,
    reason: String,
) -> Result<DialOutcome, StoreError> {
    let attempt = unrecorded(ctx, claim);
    let end = AttemptEnd {
        status: CallStatus::Failed,
        failure_reason: Some(reason.clone()),
        answered_at: None,
        duration_seconds: None,
        recording_url: None,
        next: NextStep::Failed,
    };
    engine
        .store
        .close_attempt(&attempt, &end, engine.clock.now())
        .await?;
    Ok(DialOutcome::Refused { reason })
}

async fn release(
    engine: &Engine,
    claim: &ClaimedCall,
    reason: &str,
    delay_seconds: i64,
) -> Result<DialOutcome, StoreError> {
    let retry_at = engine.clock.now() + chrono::Duration::seconds(delay_seconds);
    release_until(engine, claim, reason, retry_at).await
}

/// Gives the claim back, uncounted, to be tried again from `retry_at`.
async fn release_until(
    engine: &Engine,
    claim: &ClaimedCall,
    reason: &str,
    retry_at: DateTime<Utc>,
) -> Result<DialOutcome, StoreError> {
    let now = engine.clock.now();
    engine
        .store
        .release_claim(claim.scheduled_call_id, retry_at, now)
        .await?;
    Ok(DialOutcome::Released {
        reason: reason.to_string(),
    })
}
