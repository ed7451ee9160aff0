//! What every handler can reach.

use std::sync::Arc;

use actix::Addr;

use crate::actors::{CampaignSupervisor, Engine};
use crate::clock::Clock;
use crate::config::Settings;
use crate::conversation::playbook_catalog::PlaybookCatalog;
use crate::store::Store;

/// Shared application state, cloned into each actix worker.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub playbooks: PlaybookCatalog,
    /// The campaign side: Exotel, pacing, tokens, the call registry.
    pub engine: Engine,
    pub campaigns: Addr<CampaignSupervisor>,
    /// The provider clients: each worker thread's own pools (`ProviderPools::for_call`).
    pub providers: crate::call::providers::ProviderPools,
    /// Places for open media sockets: the node's call cap plus a margin (`media_socket_cap`).
    pub media_sockets: Arc<tokio::sync::Semaphore>,
    /// Asks the other nodes for their part of the cluster-wide views.
    pub peers: crate::cluster::Peers,
}

/// How many media sockets a node holds open at once: one per call it may carry, plus room
/// for sockets of calls just ending or reconnecting.
pub fn media_socket_cap(max_concurrent_calls: u32) -> usize {
    let calls = max_concurrent_calls as usize;
    calls + (calls / 5).max(10)
}
