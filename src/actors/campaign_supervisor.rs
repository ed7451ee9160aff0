//! `CampaignSupervisor`: starts a `CampaignActor` per started campaign (and, at process start,
//! for every campaign still RUNNING or SCHEDULED), routes call-ended events to them, and
//! restarts one that failed, with backoff, from what the database says.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use futures::future::join_all;
use serde::Serialize;

use super::campaign_actor::{
    CallEnded, CampaignSnapshot, GetSnapshot, Halt, Pause, ProviderRefused, Resume, Wake,
};
use super::{CampaignActor, Engine};
use crate::domain::CampaignStatus;

/// Why a campaign actor stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Completed,
    Paused,
    /// Told to stop (shutdown); not restarted.
    Halted,
    /// A round failed (e.g. the database was unreachable): restarted with backoff.
    Failed(String),
}

pub struct CampaignSupervisor {
    engine: Engine,
    campaigns: HashMap<i64, Addr<CampaignActor>>,
    /// Consecutive failures per campaign, for the restart backoff.
    failures: HashMap<i64, u32>,
}

/// Start (or resume) dialing a campaign.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StartCampaign(pub i64);

/// Stop dialing a campaign; its calls in progress finish.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PauseCampaign(pub i64);

/// Sent by a campaign actor from `stopped()`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CampaignStopped {
    pub campaign_id: i64,
    pub reason: StopReason,
}

/// Every campaign should look at its queue now (e.g. after a test moves the clock).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WakeAll;

/// Stop every campaign actor and the supervisor, leaving the database as it is.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// The campaign side of the actor tree, for `GET /debug/actors`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SupervisorSnapshot {
    pub node_id: String,
    pub node_tokens_capacity: u32,
    pub node_tokens_available: usize,
    pub live_calls: usize,
    pub campaigns: Vec<CampaignSnapshot>,
}

#[derive(Message)]
#[rtype(result = "SupervisorSnapshot")]
pub struct Snapshot;

impl CampaignSupervisor {
    pub fn new(engine: Engine) -> Self {
        CampaignSupervisor {
            engine,
            campaigns: HashMap::new(),
            failures: HashMap::new(),
        }
    }

    fn ensure_running(&mut self, id: i64, ctx: &mut Context<Self>) {
        if let Some(addr) = self.campaigns.get(&id) {
            if addr.connected() {
                addr.do_send(Resume);
                return;
            }
        }
        let actor = CampaignActor::new(id, self.engine.clone(), ctx.address().recipient());
        self.campaigns.insert(id, actor.start());
    }
}

impl Actor for CampaignSupervisor {
    type Context = Context<Self>;

    /// Picks up every campaign that was dialing when the process last stopped.
    fn started(&mut self, ctx: &mut Context<Self>) {
        let load = dialing_campaigns(self.engine.store.clone());
        ctx.wait(load.into_actor(self).map(|ids, act, ctx| {
            for id in ids {
                act.ensure_running(id, ctx);
            }
        }));
    }
}

/// The campaigns the database says are dialing (RUNNING or SCHEDULED), on any node's word.
async fn dialing_campaigns(store: crate::store::Store) -> Vec<i64> {
    let mut ids = Vec::new();
    for status in [CampaignStatus::Running, CampaignStatus::Scheduled] {
        match store.campaigns_with_status(status).await {
            Ok(found) => ids.extend(found.into_iter().map(|c| c.id)),
            Err(e) => tracing::error!(error = %e, "could not load the campaigns to dial"),
        }
    }
    ids
}

/// Every node works every campaign: a campaign started through another node's API (or
/// resumed there) is picked up here at the next scan (`membership`, every heartbeat).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ScanCampaigns;

impl Handler<ScanCampaigns> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, _: ScanCampaigns, ctx: &mut Context<Self>) {
        if self.engine.draining() {
            return;
        }
        let load = dialing_campaigns(self.engine.store.clone());
        ctx.spawn(load.into_actor(self).map(|ids, act, ctx| {
            for id in ids {
                // Running here already, or waiting out a restart backoff: nothing to do.
                let running = act.campaigns.get(&id).is_some_and(|a| a.connected());
                if !running && !act.failures.contains_key(&id) {
                    tracing::info!(campaign_id = id, "dialing a campaign started elsewhere");
                    act.ensure_running(id, ctx);
                }
            }
        }));
    }
}

impl Handler<StartCampaign> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, msg: StartCampaign, ctx: &mut Context<Self>) {
        self.failures.remove(&msg.0);
        self.ensure_running(msg.0, ctx);
    }
}

impl Handler<PauseCampaign> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, msg: PauseCampaign, _: &mut Context<Self>) {
        if let Some(addr) = self.campaigns.get(&msg.0) {
            addr.do_send(Pause);
        }
    }
}

impl Handler<ProviderRefused> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, msg: ProviderRefused, ctx: &mut Context<Self>) {
        if let Some(addr) = self.campaigns.get(&msg.campaign_id) {
            addr.do_send(msg);
            return;
        }
        // No actor dials this campaign on this node (e.g. an adopted call): record the
        // pause so no node starts dialing it again.
        let engine = self.engine.clone();
        ctx.spawn(
            async move {
                engine
                    .pause_campaign_because(msg.campaign_id, &msg.reason)
                    .await
            }
            .into_actor(self),
        );
    }
}

impl Handler<CallEnded> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, msg: CallEnded, _: &mut Context<Self>) {
        let campaign_id = msg.campaign_id;
        if let Some(addr) = self.campaigns.get(&campaign_id) {
            addr.do_send(msg);
        }
        // A node-wide token may have been freed: other campaigns may dial now.
        for (id, addr) in &self.campaigns {
            if *id != campaign_id {
                addr.do_send(Wake);
            }
        }
    }
}

impl Handler<CampaignStopped> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, msg: CampaignStopped, ctx: &mut Context<Self>) {
        let id = msg.campaign_id;
        if self.campaigns.get(&id).is_some_and(|a| !a.connected()) {
            self.campaigns.remove(&id);
        }
        let StopReason::Failed(error) = msg.reason else {
            self.failures.remove(&id);
            return;
        };
        let failures = self.failures.entry(id).or_insert(0);
        *failures += 1;
        let delay = Duration::from_millis(500 * 2u64.pow((*failures).min(7)));
        tracing::warn!(campaign_id = id, %error, ?delay, "restarting campaign actor");
        ctx.run_later(delay, move |act, ctx| act.ensure_running(id, ctx));
    }
}

impl Handler<WakeAll> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, _: WakeAll, _: &mut Context<Self>) {
        for addr in self.campaigns.values() {
            addr.do_send(Wake);
        }
    }
}

impl Handler<Shutdown> for CampaignSupervisor {
    type Result = ();
    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        for addr in self.campaigns.values() {
            addr.do_send(Halt);
        }
        ctx.stop();
    }
}

impl Handler<Snapshot> for CampaignSupervisor {
    type Result = ResponseFuture<SupervisorSnapshot>;
    fn handle(&mut self, _: Snapshot, _: &mut Context<Self>) -> Self::Result {
        let asks: Vec<_> = self
            .campaigns
            .values()
            .map(|a| a.send(GetSnapshot))
            .collect();
        let engine = self.engine.clone();
        Box::pin(async move {
            let mut campaigns: Vec<CampaignSnapshot> =
                join_all(asks).await.into_iter().flatten().collect();
            campaigns.sort_by_key(|c| c.campaign_id);
            SupervisorSnapshot {
                node_id: engine.settings.node_id.clone(),
                node_tokens_capacity: engine.settings.max_concurrent_calls,
                node_tokens_available: engine.node_tokens.available_permits(),
                live_calls: engine.registry.len(),
                campaigns,
            }
        })
    }
}
