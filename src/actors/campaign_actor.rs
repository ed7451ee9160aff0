//! `CampaignActor`: one per started campaign. It decides what to dial next, owns the campaign's
//! concurrency tokens and reacts at once to events (a call ended, a token freed, the window
//! opened), with `SCHEDULER_POLL_SECONDS` only as a safety tick.
//!
//! Every decision is a *round*: read the campaign row afresh (so edits apply at once),
//! reconcile expired claims, plan NEW leads, follow the window (RUNNING ⇄ SCHEDULED), then claim
//! as many due calls as the caps allow and spawn a dial for each. Rounds never overlap: an event
//! during a round asks for another one after it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::OwnedSemaphorePermit;

use super::campaign_supervisor::{CampaignStopped, StopReason};
use super::dialer::{dial, DialContext, DialOutcome};
use super::reconcile::{reconcile, InFlight};
use super::Engine;
use crate::call::fallback_audio::Readiness;
use crate::domain::CampaignStatus;
use crate::store::{ClaimCaps, ClaimedCall, StoreError};
use crate::telephony::call_outcome::calling_window;

/// What `GET /debug/actors` shows of a campaign actor.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, utoipa::ToSchema)]
pub struct CampaignSnapshot {
    pub campaign_id: i64,
    pub status: Option<CampaignStatus>,
    pub tokens_in_use: usize,
    pub max_concurrent_calls: i64,
    /// Calls due now and waiting for a token.
    pub queue_depth: i64,
    pub next_due: Option<DateTime<Utc>>,
    pub window_open: bool,
    pub paused: bool,
    pub last_error: Option<String>,
}

pub struct CampaignActor {
    campaign_id: i64,
    engine: Engine,
    supervisor: Recipient<CampaignStopped>,
    /// One entry per call of this campaign in flight (dialing or on the phone), holding its
    /// node-wide permit. Removing the entry frees the token; removing it again does nothing,
    /// so a token is freed exactly once whoever reports the call's end first.
    tokens: HashMap<i64, Option<OwnedSemaphorePermit>>,
    /// Read by in-flight dials just before they call Exotel, so a pause stops dials at once.
    paused: Arc<AtomicBool>,
    round_running: bool,
    round_again: bool,
    /// Set when Exotel rejects our credentials; no dial until the campaign is started again.
    halted: Option<String>,
    stop_reason: StopReason,
    view: CampaignSnapshot,
}

/// Run a scheduling round now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Wake;

/// A call of this campaign ended (terminal webhook, media-socket stop, reconciliation).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CallEnded {
    pub campaign_id: i64,
    pub scheduled_call_id: i64,
}

/// A provider refused one of this campaign's calls for good (a bad key, an empty quota): the
/// campaign pauses with this `status_reason` rather than burn through its leads. Sent by the
/// `CallActor` the moment it knows, not when the call ends: the status webhook may free the
/// call's token first, and the freed token must dial no one.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ProviderRefused {
    pub campaign_id: i64,
    pub reason: String,
}

/// Stop dialing; calls in progress finish normally. The actor stops when the last one ends.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Pause;

/// Dial again (after a pause or a credentials error).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume;

/// Stop now, leaving the database as it is (process shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Halt;

#[derive(Message)]
#[rtype(result = "CampaignSnapshot")]
pub struct GetSnapshot;

/// A dial this actor started has an outcome (sent by the dial's own task).
#[derive(Message)]
#[rtype(result = "()")]
struct DialFinished {
    id: i64,
    outcome: DialOutcome,
}

/// How soon a campaign waiting for its fallback lines looks again: they render in seconds.
const FALLBACK_AUDIO_RECHECK: chrono::Duration = chrono::Duration::seconds(1);

/// What a round found and decided, applied to the actor when it ends.
enum Round {
    Dial {
        claims: Vec<(ClaimedCall, Option<OwnedSemaphorePermit>)>,
        in_flight: InFlight,
        view: CampaignSnapshot,
    },
    Paused {
        in_flight: InFlight,
    },
    Completed,
    Credentials(String),
    /// The stored calling window cannot be read: fail closed (pause, say why).
    WindowUnreadable(String),
}

impl CampaignActor {
    pub fn new(campaign_id: i64, engine: Engine, supervisor: Recipient<CampaignStopped>) -> Self {
        CampaignActor {
            campaign_id,
            engine,
            supervisor,
            tokens: HashMap::new(),
            paused: Arc::new(AtomicBool::new(false)),
            round_running: false,
            round_again: false,
            halted: None,
            stop_reason: StopReason::Halted,
            view: CampaignSnapshot {
                campaign_id,
                ..CampaignSnapshot::default()
            },
        }
    }

    fn wake(&mut self, ctx: &mut Context<Self>) {
        if self.round_running {
            self.round_again = true;
            return;
        }
        self.round_running = true;
        let round = run_round(
            self.campaign_id,
            self.engine.clone(),
            self.paused.load(Ordering::Acquire) || self.halted.is_some(),
        );
        ctx.spawn(round.into_actor(self).map(|result, act, ctx| {
            act.round_running = false;
            act.finish_round(result, ctx);
            if act.round_again {
                act.round_again = false;
                act.wake(ctx);
            }
        }));
    }

    fn finish_round(&mut self, result: Result<Round, StoreError>, ctx: &mut Context<Self>) {
        match result {
            Ok(Round::Dial {
                claims,
                in_flight,
                view,
            }) => {
                self.sync_tokens(&in_flight.mine);
                self.view = view;
                for (claim, permit) in claims {
                    self.start_dial(claim, permit, ctx);
                }
                self.schedule_next_round(ctx);
            }
            Ok(Round::Paused { in_flight }) => {
                self.sync_tokens(&in_flight.mine);
                self.paused.store(true, Ordering::Release);
                self.view.paused = true;
                if self.tokens.is_empty() {
                    self.stop_reason = StopReason::Paused;
                    ctx.stop();
                }
            }
            Ok(Round::Completed) => {
                tracing::info!(campaign_id = self.campaign_id, "campaign completed");
                self.stop_reason = StopReason::Completed;
                ctx.stop();
            }
            Ok(Round::Credentials(reason) | Round::WindowUnreadable(reason)) => {
                self.pause_because(reason, ctx)
            }
            Err(StoreError::NotFound(_)) => {
                self.stop_reason = StopReason::Completed;
                ctx.stop();
            }
            Err(e) => {
                // The supervisor restarts us with backoff; the database is the truth we resume from.
                tracing::error!(campaign_id = self.campaign_id, error = %e, "scheduling round failed");
                self.stop_reason = StopReason::Failed(e.to_string());
                ctx.stop();
            }
        }
    }

    /// Makes the token table match this node's in-flight claims in the database: ended calls
    /// free their token, calls adopted from before a restart take one. Other nodes' calls
    /// hold their own nodes' tokens.
    fn sync_tokens(&mut self, in_flight: &[i64]) {
        let live: HashSet<i64> = in_flight.iter().copied().collect();
        self.tokens.retain(|id, _| live.contains(id));
        for id in live {
            self.tokens
                .entry(id)
                .or_insert_with(|| self.engine.node_tokens.clone().try_acquire_owned().ok());
        }
        self.view.tokens_in_use = self.tokens.len();
    }

    fn start_dial(
        &mut self,
        claim: ClaimedCall,
        permit: Option<OwnedSemaphorePermit>,
        ctx: &mut Context<Self>,
    ) {
        let id = claim.scheduled_call_id;
        self.tokens.insert(id, permit);
        // Registered before the task starts, so no round can see the claim without its dial.
        let live = self.engine.live_dials.begin(id);
        self.view.tokens_in_use = self.tokens.len();
        let dial_ctx = DialContext {
            campaign_id: self.campaign_id,
        };
        let fut = dial(self.engine.clone(), dial_ctx, claim, self.paused.clone());
        let me = ctx.address();
        // Detached from the actor: a dial half-way through its HTTP request is never cancelled
        // by a restart of this actor (that would leave it in doubt). Its result comes back as
        // a message; if this actor is gone by then, the database already says what happened.
        actix_rt::spawn(async move {
            let outcome = fut.await;
            me.do_send(DialFinished { id, outcome });
            drop(live);
        });
    }

    fn on_dialed(&mut self, id: i64, outcome: DialOutcome, ctx: &mut Context<Self>) {
        let result = match &outcome {
            DialOutcome::Placed { .. } => "placed",
            DialOutcome::Refused { .. } => "refused",
            DialOutcome::Released { .. } => "released",
            DialOutcome::InDoubt { .. } => "in_doubt",
            DialOutcome::CredentialsRejected { .. } => "credentials_rejected",
        };
        metrics::counter!(crate::telemetry_metrics::names::DIALS, "result" => result).increment(1);
        if outcome.holds_token() {
            return;
        }
        self.free_token(id, ctx);
        if let DialOutcome::CredentialsRejected { reason } = outcome {
            self.pause_because(reason, ctx);
        }
    }

    /// Stops dialing and says why where operators look: the campaign pauses itself with a
    /// `status_reason`.
    fn pause_because(&mut self, reason: String, ctx: &mut Context<Self>) {
        self.view.last_error = Some(reason.clone());
        self.halted = Some(reason.clone());
        // Dials already claimed (waiting for their pacing slot) check this flag right before
        // the request: none of them may go out after a provider refused us. The actor keeps
        // running until a round reads the pause saved, so the write spawned below is not
        // dropped with it.
        self.paused.store(true, Ordering::Release);
        let (engine, id) = (self.engine.clone(), self.campaign_id);
        ctx.spawn(async move { engine.pause_campaign_because(id, &reason).await }.into_actor(self));
    }

    fn free_token(&mut self, id: i64, ctx: &mut Context<Self>) {
        if self.tokens.remove(&id).is_some() {
            self.view.tokens_in_use = self.tokens.len();
            // Not while a provider's refusal is being saved (`halted`): the round that reads
            // the saved pause stops the actor.
            if self.view.paused && self.halted.is_none() && self.tokens.is_empty() {
                self.stop_reason = StopReason::Paused;
                ctx.stop();
                return;
            }
            self.wake(ctx);
        }
    }

    /// A precise timer for the next due call or window opening; the poll tick backs it up.
    fn schedule_next_round(&mut self, ctx: &mut Context<Self>) {
        let Some(next_due) = self.view.next_due else {
            return;
        };
        let poll = Duration::from_secs(u64::from(self.engine.settings.scheduler_poll_seconds));
        let until = (next_due - self.engine.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(Duration::from_millis(20), poll);
        ctx.run_later(until, |act, ctx| act.wake(ctx));
    }
}

impl Actor for CampaignActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(campaign_id = self.campaign_id, "campaign actor started");
        let poll = Duration::from_secs(u64::from(self.engine.settings.scheduler_poll_seconds));
        ctx.run_interval(poll, |act, ctx| act.wake(ctx));
        self.wake(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!(campaign_id = self.campaign_id, reason = ?self.stop_reason, "campaign actor stopped");
        self.supervisor.do_send(CampaignStopped {
            campaign_id: self.campaign_id,
            reason: self.stop_reason.clone(),
        });
    }
}

impl Handler<Wake> for CampaignActor {
    type Result = ();
    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        self.wake(ctx);
    }
}

impl Handler<CallEnded> for CampaignActor {
    type Result = ();
    fn handle(&mut self, msg: CallEnded, ctx: &mut Context<Self>) {
        self.free_token(msg.scheduled_call_id, ctx);
    }
}

impl Handler<ProviderRefused> for CampaignActor {
    type Result = ();
    fn handle(&mut self, msg: ProviderRefused, ctx: &mut Context<Self>) {
        self.pause_because(msg.reason, ctx);
    }
}

impl Handler<DialFinished> for CampaignActor {
    type Result = ();
    fn handle(&mut self, msg: DialFinished, ctx: &mut Context<Self>) {
        self.on_dialed(msg.id, msg.outcome, ctx);
    }
}

impl Handler<Pause> for CampaignActor {
    type Result = ();
    fn handle(&mut self, _: Pause, ctx: &mut Context<Self>) {
        self.paused.store(true, Ordering::Release);
        self.view.paused = true;
        if self.tokens.is_empty() {
            self.stop_reason = StopReason::Paused;
            ctx.stop();
        }
    }
}

impl Handler<Resume> for CampaignActor {
    type Result = ();
    fn handle(&mut self, _: Resume, ctx: &mut Context<Self>) {
        self.paused.store(false, Ordering::Release);
        self.view.paused = false;
        self.halted = None;
        self.view.last_error = None;
        self.wake(ctx);
    }
}

impl Handler<Halt> for CampaignActor {
    type Result = ();
    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        self.stop_reason = StopReason::Halted;
        ctx.stop();
    }
}

impl Handler<GetSnapshot> for CampaignActor {
    type Result = MessageResult<GetSnapshot>;
    fn handle(&mut self, _: GetSnapshot, _: &mut Context<Self>) -> Self::Result {
        let mut view = self.view.clone();
        view.tokens_in_use = self.tokens.len();
        if let Some(reason) = &self.halted {
            view.last_error = Some(reason.clone());
        }
        MessageResult(view)
    }
}

/// One scheduling round, run off the actor so it keeps answering messages meanwhile.
async fn run_round(campaign_id: i64, engine: Engine, no_dials: bool) -> Result<Round, StoreError> {
    let store = &engine.store;
    let now = engine.clock.now();
    let mut campaign = store.campaign(campaign_id).await?;
    let in_flight = reconcile(&engine, campaign_id, now).await?;
    match campaign.status {
        CampaignStatus::Completed => return Ok(Round::Completed),
        CampaignStatus::Draft | CampaignStatus::Paused => return Ok(Round::Paused { in_flight }),
        CampaignStatus::Running | CampaignStatus::Scheduled => {}
    }
    if let Some(var) = engine.exotel.missing_setting() {
        return Ok(Round::Credentials(format!(
            "Exotel is not configured: set {var}"
        )));
    }
    let window = match calling_window(&campaign, engine.settings.calling.regulatory_hours) {
        Ok(window) => window,
        Err(e) => return Ok(Round::WindowUnreadable(e.to_string())),
    };
    store
        .schedule_new_leads(
            campaign_id,
            window.next_allowed(now),
            campaign.max_attempts,
            now,
        )
        .await?;
    // Numbers put on the suppression list after their upload: closed, never dialed.
    store.cancel_suppressed_calls(campaign_id, now).await?;
    let open = window.is_open(now);
    let wanted = if open {
        CampaignStatus::Running
    } else {
        CampaignStatus::Scheduled
    };
    if campaign.status != wanted {
        // A concurrent pause wins: the transition is conditional on the status we read.
        if let Ok(moved) = store.transition_campaign(campaign_id, wanted, now).await {
            campaign = moved;
        }
    }
    let (next_due, due) = store.pending_summary(campaign_id, now).await?;
    if in_flight.all.is_empty() && store.open_work(campaign_id, now).await? == 0 {
        store
            .transition_campaign(campaign_id, CampaignStatus::Completed, now)
            .await?;
        return Ok(Round::Completed);
    }
    let mut view = CampaignSnapshot {
        campaign_id,
        status: Some(campaign.status),
        tokens_in_use: in_flight.mine.len(),
        max_concurrent_calls: campaign.max_concurrent_calls,
        queue_depth: due,
        next_due: if open {
            next_due
        } else {
            Some(window.next_allowed(now))
        },
        window_open: open,
        paused: no_dials,
        last_error: None,
    };
    // What the campaign's cap leaves, as far as this round saw; the claim counts again,
    // atomically, across the cluster (`claim_due_calls`).
    let free = (campaign.max_concurrent_calls - in_flight.all.len() as i64).min(due);
    if !open || no_dials || free <= 0 {
        return Ok(Round::Dial {
            claims: Vec::new(),
            in_flight,
            view,
        });
    }
    // Never call someone we could not say a word to if the TTS failed mid-call: nothing is
    // claimed before the playbook's fallback lines are rendered (asking starts the renders).
    if engine.settings.fallback_audio_required {
        match engine.fallback_audio_readiness(&campaign.playbook) {
            Readiness::Ready => {}
            Readiness::Rendering => {
                view.last_error = Some("waiting for the fallback audio to be rendered".into());
                view.next_due = Some(now + FALLBACK_AUDIO_RECHECK);
                return Ok(Round::Dial {
                    claims: Vec::new(),
                    in_flight,
                    view,
                });
            }
            Readiness::Refused(e) => {
                return Ok(Round::Credentials(format!(
                    "{} refused to render the fallback lines ({e}); fix the key or quota, restart the node and resume",
                    e.provider
                )))
            }
        }
    }
    let mut permits = Vec::new();
    while (permits.len() as i64) < free {
        match engine.node_tokens.clone().try_acquire_owned() {
            Ok(p) => permits.push(p),
            Err(_) => break,
        }
    }
    let lease = now + engine.dial_lease();
    let node = &engine.settings.node_id;
    let exotel = &engine.settings.exotel;
    let caps = ClaimCaps {
        campaign: campaign.max_concurrent_calls,
        account: exotel.max_concurrent_calls.map(i64::from),
        per_minute: Some(i64::from(exotel.calls_per_minute)),
    };
    let claimed = store
        .claim_due_calls(campaign_id, now, permits.len() as i64, node, lease, &caps)
        .await?;
    view.queue_depth = due - claimed.len() as i64;
    let claims = claimed
        .into_iter()
        .zip(permits.into_iter().map(Some))
        .collect();
    Ok(Round::Dial {
        claims,
        in_flight,
        view,
    })
}
