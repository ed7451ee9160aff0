//! This node in the cluster (not an actor: a task per node, like the webhook sender). Every
//! `NODE_HEARTBEAT_SECONDS` it renews the node's row in `nodes` with its load, settles the
//! nodes whose lease ran out (`Store::settle_lost_nodes`: their claims expire now, so the
//! next scheduling round anywhere settles their calls by the in-doubt rules), and asks the
//! supervisor to pick up campaigns started through other nodes (`ScanCampaigns`), and books
//! the call-backs owed to missed hand-offs whose calls are saved.

use std::time::Duration;

use actix::Addr;

use super::campaign_supervisor::{CampaignSupervisor, ScanCampaigns, WakeAll};
use super::Engine;
use crate::store::{Heartbeat, NodeLoad};

/// Starts the membership task; it ends with the node's supervisor.
pub fn spawn_membership(engine: Engine, supervisor: Addr<CampaignSupervisor>) {
    let every = Duration::from_secs(u64::from(engine.settings.node_heartbeat_seconds));
    actix_rt::spawn(async move {
        while supervisor.connected() && !engine.draining() {
            beat(&engine, &supervisor).await;
            tokio::time::sleep(every).await;
        }
    });
}

/// One heartbeat: renew, settle the lost, scan for campaigns.
pub async fn beat(engine: &Engine, supervisor: &Addr<CampaignSupervisor>) {
    let settings = &engine.settings;
    let now = engine.clock.now();
    let lease = now + chrono::Duration::seconds(i64::from(settings.node_lease_seconds));
    let capacity = i64::from(settings.max_concurrent_calls);
    let load = NodeLoad {
        live_calls: engine.registry.len() as i64,
        tokens_capacity: capacity,
        tokens_in_use: capacity - engine.node_tokens.available_permits() as i64,
    };
    let node = &settings.node_id;
    let beat = Heartbeat {
        node_id: node,
        node_url: &engine.node_url,
        started_at: engine.started_at,
        now,
        lease_until: lease,
        load,
    };
    if let Err(e) = engine.store.heartbeat(&beat).await {
        tracing::warn!(error = %e, "heartbeat not recorded; the others may take this node for lost");
    }
    match engine.store.settle_lost_nodes(node, now).await {
        Ok(lost) if !lost.is_empty() => {
            tracing::warn!(nodes = ?lost, "nodes stopped heart-beating: settling their calls");
            supervisor.do_send(WakeAll);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not look for lost nodes"),
    }
    supervisor.do_send(ScanCampaigns);
    forget_calls_ended_elsewhere(engine).await;
    // A missed hand-off's call-back whose call was saved after its result came in (or whose
    // booking a restart interrupted).
    if let Err(e) = engine.store.book_missed_transfer_callbacks(now).await {
        tracing::warn!(error = %e, "could not book missed transfers' call-backs");
    }
}

/// A call this node dialed may end on another node's word: Exotel's status callback lands
/// wherever the balancer sends it, and that node closes the attempt in the database. The
/// database is the truth; here the node's registry catches up with it, by polling on each
/// heartbeat rather than a LISTEN/NOTIFY channel: it needs no extra connection held open per
/// node, survives a lost connection without missed notices, and is late by a heartbeat at most
/// for bookkeeping only (the call's token is freed by the campaign's next round, which reads
/// the same table). Calls whose media socket is here end with their socket, not this.
async fn forget_calls_ended_elsewhere(engine: &Engine) {
    for call in engine.registry.list() {
        if call.actor.is_some() {
            continue;
        }
        match engine.store.attempt(call.scheduled_call_id).await {
            Ok(Some(attempt)) if !matches!(attempt.status.as_str(), "DIALING" | "IN_PROGRESS") => {
                tracing::info!(call_sid = %call.call_sid, "call ended on another node's callback");
                engine.registry.unregister(&call.call_sid);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not check calls against the database");
                return;
            }
        }
    }
}
