//! What every handler can reach.

use std::sync::Arc;

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
}
