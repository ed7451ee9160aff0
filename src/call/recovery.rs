//! What a node does at start-up, before it serves anything, about calls its previous process
//! left behind: first the spool is replayed (conversations the database would not take), then
//! this node's calls that were live when the process died (media on this node, no saved
//! conversation) are closed with outcome `interrupted`, and their leads follow the retry policy
//! as for a failed attempt: again after the no-answer delay, or EXHAUSTED — except a lead whose
//! number is on the suppression list (the person may have opted out on that very call, which
//! is written as the tool runs), who is done. Calls that were only dialed or ringing are left
//! to the claims' reconciliation.

use super::outcome::ConversationOutcome;
use super::spool::{Replayed, Spool};
use crate::actors::Engine;
use crate::domain::CallStatus;
use crate::scheduling::{next_step, NextStep};
use crate::store::{AttemptEnd, StoreError};
use crate::telephony::call_outcome::{lead_retry_policy, retry_window, INTERRUPTED_REASON};

/// What start-up recovery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub spool: Replayed,
    pub interrupted: usize,
}

pub async fn recover(engine: &Engine, spool: &Spool) -> Result<Recovered, StoreError> {
    let replayed = spool.replay(&engine.store).await;
    let interrupted = close_interrupted_calls(engine, spool).await?;
    Ok(Recovered {
        spool: replayed,
        interrupted,
    })
}

async fn close_interrupted_calls(engine: &Engine, spool: &Spool) -> Result<usize, StoreError> {
    let store = &engine.store;
    let spooled = spool.call_sids();
    let mut closed = 0;
    for attempt in store.calls_live_on_node(&engine.settings.node_id).await? {
        let Some(sid) = attempt.current_call_sid.clone() else {
            continue;
        };
        if spooled.contains(&sid) {
            // Its conversation is in the spool; the next replay saves it.
            continue;
        }
        let now = engine.clock.now();
        let campaign = store.campaign(attempt.campaign_id).await?;
        let lead = store.lead(attempt.lead_id).await?;
        let suppressed = !store
            .suppressed_among(std::slice::from_ref(&lead.phone))
            .await?
            .is_empty();
        // The scheduling round would also cancel a retry of a suppressed number; not planning
        // one at all keeps the lead's end honest (done, not failed) and needs no later round.
        let next = if suppressed {
            NextStep::Done
        } else {
            next_step(
                CallStatus::Failed,
                false,
                u32::try_from(attempt.attempt_number).unwrap_or(u32::MAX),
                &lead_retry_policy(engine, &campaign, attempt.lead_id).await?,
                &retry_window(&campaign, engine.settings.calling.regulatory_hours),
                now,
            )
        };
        store.save_interrupted_conversation(&sid, now).await?;
        let end = AttemptEnd {
            status: CallStatus::Failed,
            failure_reason: Some(INTERRUPTED_REASON.into()),
            answered_at: None,
            duration_seconds: None,
            recording_url: None,
            next,
        };
        if store.close_attempt(&attempt, &end, now).await? {
            closed += 1;
            metrics::counter!(crate::telemetry_metrics::names::CALLS,
                "outcome" => ConversationOutcome::Interrupted.as_str())
            .increment(1);
            tracing::warn!(call_sid = %sid, lead_id = attempt.lead_id, ?next, "closed a call interrupted by the last stop");
        }
    }
    Ok(closed)
}
