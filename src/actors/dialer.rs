//! The dialer: turns one claimed scheduled call into an Exotel request and records the result.
//! Not an actor: a future the campaign actor spawns per claim (and cancels by stopping).
//!
//! The claim is never lost: a refused dial closes the attempt, a dial that never reached
//! Exotel gives the claim back, and a transient error (429, 5xx, timeout) is retried with
//! exponential backoff and jitter while the claim's lease is extended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use super::{Engine, LiveCall};
use crate::domain::{CallStatus, Phone};
use crate::scheduling::NextStep;
use crate::store::{AttemptEnd, AttemptRow, ClaimedCall, StoreError};
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
        status_callback: engine.status_callback_url(),
        stream_url: engine.media_url(&call_ref.encode()),
        time_limit_seconds: engine.settings.max_call_duration_minutes * 60,
    };
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_TRIES {
        engine.pacer.until_ready().await;
        if paused.load(Ordering::Acquire) {
            return release(engine, claim, "campaign paused before the dial", 0).await;
        }
        if engine.draining() {
            return release(engine, claim, "node shutting down before the dial", 0).await;
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

async fn refused(
    engine: &Engine,
    ctx: DialContext,
    claim: &ClaimedCall,
    reason: String,
) -> Result<DialOutcome, StoreError> {
    let attempt = AttemptRow {
        scheduled_call_id: claim.scheduled_call_id,
        campaign_id: ctx.campaign_id,
        lead_id: claim.lead_id,
        attempt_number: claim.attempt_number,
        status: "DIALING".into(),
        current_call_sid: None,
        claimed_by: None,
        lease_until: None,
    };
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
    let now = engine.clock.now();
    let retry_at = now + chrono::Duration::seconds(delay_seconds);
    engine
        .store
        .release_claim(claim.scheduled_call_id, retry_at, now)
        .await?;
    Ok(DialOutcome::Released {
        reason: reason.to_string(),
    })
}
