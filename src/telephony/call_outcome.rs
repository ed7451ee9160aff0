//! What a call's status means for the lead: the one place a status update (from a webhook or
//! from reconciliation with Exotel's Call Details) is applied. Idempotent and order-tolerant:
//! the same end twice changes nothing, and nothing earlier replaces an end.

use std::time::Duration;

use super::exotel::CallRef;
use crate::actors::Engine;
use crate::config::CallingDays;
use crate::domain::{CallDuration, CallStatus};
use crate::scheduling::{next_step, CallingWindow, NextStep, RegulatoryHours, RetryPolicy};
use crate::store::{AttemptEnd, AttemptRow, Campaign, ClaimedCall, StoreError};

/// A status report about one call.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    pub call_sid: String,
    pub status: CallStatus,
    /// Clamped at the edge (`CallDuration`), so the arithmetic below cannot overflow.
    pub duration_seconds: Option<CallDuration>,
    pub recording_url: Option<String>,
    /// The ids from `CustomField`, when the report carries them.
    pub call_ref: Option<CallRef>,
}

/// What applying an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// No call of ours has this sid.
    Unknown,
    /// Already known or out of date: nothing changed.
    Ignored,
    /// The call moved forward (ringing, answered).
    Progressed,
    /// The call ended now; its token must be freed.
    Ended {
        campaign_id: i64,
        scheduled_call_id: i64,
    },
}

/// How long to wait for a just-dialed call's sid to be recorded before treating a callback as
/// unknown: Exotel can call back before our INSERT of its answer commits.
const SID_GRACE: Duration = Duration::from_secs(2);

pub async fn apply_status(engine: &Engine, update: &StatusUpdate) -> Result<Applied, StoreError> {
    let Some(attempt) = find_attempt(engine, update).await? else {
        return Ok(Applied::Unknown);
    };
    let now = engine.clock.now();
    if !update.status.is_terminal() {
        let moved = engine
            .store
            .note_call_progress(&update.call_sid, update.status, now)
            .await?;
        if moved {
            engine.registry.set_status(&update.call_sid, update.status);
            return Ok(Applied::Progressed);
        }
        return Ok(Applied::Ignored);
    }
    let media_here = engine
        .registry
        .lookup(&update.call_sid)
        .is_some_and(|c| c.actor.is_some());
    // Any node takes any callback: the conversation may be on another node (its media socket
    // landed there), known from the database.
    let elsewhere = match media_here {
        true => None,
        false => engine
            .store
            .media_holder(&update.call_sid, now)
            .await?
            .filter(|holder| holder.node_id != engine.settings.node_id),
    };
    let media_live = media_here || elsewhere.as_ref().is_some_and(|holder| holder.alive);
    if media_live && update.status == CallStatus::Completed {
        // The conversation decides the lead's next step; its actor closes the attempt, on
        // whichever node it runs.
        engine
            .store
            .record_call_details(
                &update.call_sid,
                update.duration_seconds.map(CallDuration::seconds),
                update.recording_url.as_deref(),
                now,
            )
            .await?;
        return Ok(Applied::Progressed);
    }
    let campaign = engine.store.campaign(attempt.campaign_id).await?;
    let policy = lead_retry_policy(engine, &campaign, attempt.lead_id).await?;
    // Lost with its node: answered, talking on a node that died before saving it.
    let lost_elsewhere = elsewhere.is_some_and(|holder| !holder.alive);
    let lost = update.status == CallStatus::Completed
        && (lost_elsewhere || lost_to_a_crash(engine, &attempt).await?);
    // A conversation lost to our crash is a failed attempt, retried by the policy.
    let status = if lost {
        CallStatus::Failed
    } else {
        update.status
    };
    let next = next_step(
        status,
        false,
        u32::try_from(attempt.attempt_number).unwrap_or(u32::MAX),
        &policy,
        &retry_window(&campaign, engine.settings.calling.regulatory_hours),
        now,
    );
    let answered_at = (update.status == CallStatus::Completed).then(|| {
        let lasted = update.duration_seconds.unwrap_or_default().as_chrono();
        now.checked_sub_signed(lasted).unwrap_or(now)
    });
    let end = AttemptEnd {
        status,
        failure_reason: if lost {
            Some(INTERRUPTED_REASON.to_string())
        } else {
            (status != CallStatus::Completed).then(|| status.to_string())
        },
        answered_at,
        duration_seconds: update.duration_seconds.map(CallDuration::seconds),
        recording_url: update.recording_url.clone(),
        next,
    };
    if !engine.store.close_attempt(&attempt, &end, now).await? {
        return Ok(Applied::Ignored);
    }
    if lost {
        engine
            .store
            .save_interrupted_conversation(&update.call_sid, now)
            .await?;
        tracing::warn!(call_sid = %update.call_sid, ?next, "answered while this node was down: closed as interrupted");
    }
    engine.registry.unregister(&update.call_sid);
    tracing::info!(call_sid = %update.call_sid, status = %update.status, ?next, "call ended");
    Ok(Applied::Ended {
        campaign_id: attempt.campaign_id,
        scheduled_call_id: attempt.scheduled_call_id,
    })
}

/// Why an attempt closed as interrupted failed (shared with start-up recovery).
pub use crate::store::INTERRUPTED_REASON;

/// Whether an answered call lost its conversation to a crash of ours: placed by an earlier run
/// of this node (before this process started) and its audio never reached any node, so the
/// person heard silence — Exotel answered while we were down, or our media socket died with
/// the process before it was claimed. Such a lead is not done: it is retried by the policy.
/// (A call placed by this process with no media is left as Exotel reports it: the simulator's
/// voiceless calls, and flows that end before our applet. For a real call any answer without
/// media was silence, so a clock stepped back across a restart only changes which of those
/// silent calls are retried; it can never re-call a person who had a conversation.)
async fn lost_to_a_crash(engine: &Engine, attempt: &AttemptRow) -> Result<bool, StoreError> {
    let Some(sid) = &attempt.current_call_sid else {
        return Ok(false);
    };
    let Some(placed_at) = engine.store.silent_call_placed_at(sid).await? else {
        return Ok(false);
    };
    let placed_at = attempt
        .in_doubt_since
        .map_or(placed_at, |since| since.min(placed_at));
    Ok(placed_at < engine.started_at)
}

/// The attempt a report is about: by sid, or (when the report raced our own record of the dial)
/// by the scheduled call id in `CustomField`, adopting the sid if the dial was never recorded.
async fn find_attempt(
    engine: &Engine,
    update: &StatusUpdate,
) -> Result<Option<AttemptRow>, StoreError> {
    let store = &engine.store;
    // A report whose ids (`CustomField`, or the URL's per-call token) name another attempt
    // than the one its sid belongs to is not about that call: applying it would let one
    // call's credentials end another.
    let consistent = |found: &AttemptRow| {
        update
            .call_ref
            .is_none_or(|r| r.scheduled_call_id == found.scheduled_call_id)
    };
    if let Some(found) = store.attempt_by_call_sid(&update.call_sid).await? {
        return Ok(consistent(&found).then_some(found));
    }
    let Some(call_ref) = update.call_ref else {
        return Ok(None);
    };
    let deadline = tokio::time::Instant::now() + SID_GRACE;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(found) = store.attempt_by_call_sid(&update.call_sid).await? {
            return Ok(consistent(&found).then_some(found));
        }
    }
    adopt_unrecorded(engine, call_ref.scheduled_call_id, &update.call_sid).await
}

/// Records `call_sid` as the call of scheduled call `scheduled_call_id` when our own record of
/// its dial is missing: the dial is still DIALING with no sid (its answer has not been recorded
/// yet, or never will be: in doubt, or its process died). Returns the attempt, or `None` when
/// that scheduled call is not waiting for a sid. The attempt is counted once whichever way the
/// call is learnt of (dial answer, callback, media socket, Exotel's call list).
pub async fn adopt_unrecorded(
    engine: &Engine,
    scheduled_call_id: i64,
    call_sid: &str,
) -> Result<Option<AttemptRow>, StoreError> {
    let store = &engine.store;
    let Some(attempt) = store.attempt(scheduled_call_id).await? else {
        return Ok(None);
    };
    if attempt.status != "DIALING" || attempt.current_call_sid.is_some() {
        return Ok(None);
    }
    let claim = ClaimedCall {
        scheduled_call_id: attempt.scheduled_call_id,
        lead_id: attempt.lead_id,
        attempt_number: attempt.attempt_number,
        max_attempts: 0,
        lead_name: String::new(),
        phone: String::new(),
    };
    let now = engine.clock.now();
    match store
        .mark_dialed(
            &claim,
            attempt.campaign_id,
            call_sid,
            now + engine.call_lease(),
            now,
        )
        .await
    {
        // Someone else recorded it first: read what they recorded.
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    tracing::warn!(%call_sid, "adopted a call whose dial was never recorded");
    store.attempt_by_call_sid(call_sid).await
}

/// The campaign's retry policy as it applies to one lead: call-backs granted free (at most 2 a
/// lead) did not use one of the lead's attempts.
pub async fn lead_retry_policy(
    engine: &Engine,
    campaign: &Campaign,
    lead_id: i64,
) -> Result<RetryPolicy, StoreError> {
    let mut policy = retry_policy(campaign, engine.settings.retry_minute_seconds);
    let free = engine.store.lead(lead_id).await?.free_callbacks_used;
    policy.max_attempts = policy
        .max_attempts
        .saturating_add(u32::try_from(free).unwrap_or(0));
    Ok(policy)
}

pub fn retry_policy(campaign: &Campaign, minute_seconds: u32) -> RetryPolicy {
    let minutes = |m: i64| chrono::Duration::seconds(m * i64::from(minute_seconds));
    RetryPolicy {
        max_attempts: u32::try_from(campaign.max_attempts).unwrap_or(1),
        no_answer_delay: minutes(campaign.retry_no_answer_minutes),
        busy_delay: minutes(campaign.retry_busy_minutes),
    }
}

/// How long a campaign waits after a machine answered (`retry_voicemail_minutes`, in the
/// runtime's minutes: `RETRY_MINUTE_SECONDS` shortens them in tests and the sandbox).
pub fn voicemail_delay(campaign: &Campaign, minute_seconds: u32) -> chrono::Duration {
    chrono::Duration::seconds(campaign.retry_voicemail_minutes.max(0) * i64::from(minute_seconds))
}

/// The lead's next step after a machine answered: a retry after the campaign's
/// `retry_voicemail_minutes` inside its window, or EXHAUSTED.
pub async fn next_after_voicemail(
    engine: &Engine,
    campaign: &Campaign,
    attempt: &AttemptRow,
) -> NextStep {
    let minute_seconds = engine.settings.retry_minute_seconds;
    let policy = match lead_retry_policy(engine, campaign, attempt.lead_id).await {
        Ok(policy) => policy,
        // Without the lead's free call-backs: at worst one retry fewer.
        Err(_) => retry_policy(campaign, minute_seconds),
    };
    next_step_after_voicemail(
        u32::try_from(attempt.attempt_number).unwrap_or(u32::MAX),
        &policy,
        voicemail_delay(campaign, minute_seconds),
        &retry_window(campaign, engine.settings.calling.regulatory_hours),
        engine.clock.now(),
    )
}

/// What follows attempt number `attempt` (1-based) that a machine answered at `now`
/// (voicemail, call screening, a carrier announcement): another call `delay` later, moved into
/// the calling window (and the regulatory hours under it), or EXHAUSTED when it was the lead's
/// last attempt. The machine did not talk to the lead, so the lead is not done.
pub fn next_step_after_voicemail(
    attempt: u32,
    policy: &RetryPolicy,
    delay: chrono::Duration,
    window: &CallingWindow,
    now: chrono::DateTime<chrono::Utc>,
) -> NextStep {
    if attempt >= policy.max_attempts {
        return NextStep::Exhausted;
    }
    NextStep::RetryAt(window.next_allowed(now + delay))
}

/// Why a stored campaign's window cannot be read. Dialing fails closed: the campaign pauses and
/// its `status_reason` carries this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored calling window cannot be read ({0}); no call is placed until it is fixed with PATCH /campaigns/{{id}}")]
pub struct WindowError(pub String);

/// A campaign's window, under the regulatory floor unless the campaign is transactional.
/// Rows are validated on the way in, so an unreadable one (edited by hand, or a zone name a
/// newer tz database dropped) is an error, never a guess: guessing UTC and every day would
/// call people at night.
pub fn calling_window(
    campaign: &Campaign,
    floor: RegulatoryHours,
) -> Result<CallingWindow, WindowError> {
    let start_hour = u32::try_from(campaign.calling_hours_start)
        .ok()
        .filter(|h| *h <= 23)
        .ok_or_else(|| {
            WindowError(format!(
                "calling_hours_start {}",
                campaign.calling_hours_start
            ))
        })?;
    let end_hour = u32::try_from(campaign.calling_hours_end)
        .ok()
        .filter(|h| (1..=24).contains(h))
        .ok_or_else(|| WindowError(format!("calling_hours_end {}", campaign.calling_hours_end)))?;
    let timezone = campaign
        .timezone
        .parse()
        .map_err(|_| WindowError(format!("unknown time zone {:?}", campaign.timezone)))?;
    let days = CallingDays::parse(&campaign.calling_days)
        .map_err(|e| WindowError(format!("calling_days {:?}: {e}", campaign.calling_days)))?;
    Ok(CallingWindow {
        start_hour,
        end_hour,
        timezone,
        days,
        floor: (!campaign.transactional).then_some(floor),
    })
}

/// The window a retry or call-back time is moved into. An unreadable window cannot be used; the
/// time then only orders the queue, since no round dials while the window is unreadable.
pub fn retry_window(campaign: &Campaign, floor: RegulatoryHours) -> CallingWindow {
    calling_window(campaign, floor).unwrap_or(CallingWindow {
        start_hour: 0,
        end_hour: 24,
        timezone: chrono_tz::UTC,
        days: CallingDays::ALL,
        floor: None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn next_step_after_a_voicemail() {
        let policy = RetryPolicy {
            max_attempts: 3,
            no_answer_delay: Duration::minutes(30),
            busy_delay: Duration::minutes(30),
        };
        // 10:00–19:00 IST, Monday to Saturday, under TRAI's 09:00–21:00.
        let window = CallingWindow {
            start_hour: 10,
            end_hour: 19,
            timezone: chrono_tz::Asia::Kolkata,
            days: CallingDays::parse("Mon-Sat").unwrap(),
            floor: Some(RegulatoryHours::INDIA),
        };
        let two_hours = Duration::minutes(120);
        let cases = [
            // Thursday 11:00 IST: 13:00 IST the same day.
            (
                "2026-11-26T05:30:00Z",
                1,
                two_hours,
                NextStep::RetryAt(at("2026-11-26T07:30:00Z")),
            ),
            (
                "2026-11-26T05:30:00Z",
                2,
                two_hours,
                NextStep::RetryAt(at("2026-11-26T07:30:00Z")),
            ),
            // Thursday 18:00 IST + 2 h is after the window: Friday 10:00 IST.
            (
                "2026-11-26T12:30:00Z",
                1,
                two_hours,
                NextStep::RetryAt(at("2026-11-27T04:30:00Z")),
            ),
            // Saturday 18:30 IST: Sunday is not a calling day, so Monday 10:00 IST.
            (
                "2026-11-28T13:00:00Z",
                1,
                two_hours,
                NextStep::RetryAt(at("2026-11-30T04:30:00Z")),
            ),
            // No wait: at once, inside the window.
            (
                "2026-11-26T05:30:00Z",
                1,
                Duration::zero(),
                NextStep::RetryAt(at("2026-11-26T05:30:00Z")),
            ),
            // The last attempt reached a machine: nothing left.
            ("2026-11-26T05:30:00Z", 3, two_hours, NextStep::Exhausted),
            ("2026-11-26T05:30:00Z", 4, two_hours, NextStep::Exhausted),
        ];
        for (now, attempt, delay, expected) in cases {
            assert_eq!(
                next_step_after_voicemail(attempt, &policy, delay, &window, at(now)),
                expected,
                "{now} attempt {attempt}"
            );
        }
    }

    #[test]
    fn a_transactional_window_is_not_held_to_the_regulatory_hours() {
        let policy = RetryPolicy {
            max_attempts: 2,
            no_answer_delay: Duration::zero(),
            busy_delay: Duration::zero(),
        };
        let window = CallingWindow {
            start_hour: 0,
            end_hour: 24,
            timezone: chrono_tz::Asia::Kolkata,
            days: CallingDays::ALL,
            floor: None,
        };
        // 22:30 IST + 1 h = 23:30 IST, allowed for a transactional campaign.
        assert_eq!(
            next_step_after_voicemail(
                1,
                &policy,
                Duration::hours(1),
                &window,
                at("2026-11-26T17:00:00Z")
            ),
            NextStep::RetryAt(at("2026-11-26T18:00:00Z"))
        );
        let promotional = CallingWindow {
            floor: Some(RegulatoryHours::INDIA),
            ..window
        };
        // Under TRAI's hours: 09:00 IST the next day.
        assert_eq!(
            next_step_after_voicemail(
                1,
                &policy,
                Duration::hours(1),
                &promotional,
                at("2026-11-26T17:00:00Z")
            ),
            NextStep::RetryAt(at("2026-11-27T03:30:00Z"))
        );
    }
}
