//! The actors of the runtime (see actors.md for the tree, every message and who restarts whom).

pub mod call_registry;
pub mod campaign_actor;
pub mod campaign_supervisor;
pub mod dialer;
pub mod engine;
pub mod live_dials;
pub mod membership;
pub mod reconcile;

pub use call_registry::{CallRegistry, CallRegistryHandle, LiveCall};
pub use campaign_actor::CampaignActor;
pub use campaign_supervisor::CampaignSupervisor;
pub use engine::Engine;
pub use live_dials::{LiveDial, LiveDials};
