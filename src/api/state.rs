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
}
