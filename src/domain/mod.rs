//! Domain types shared by the API, the store and the actors: parsed once, valid everywhere.

pub mod campaign_status;
pub mod phone;
pub mod statuses;
pub mod suppression;

pub use campaign_status::{CampaignStatus, IllegalTransition};
pub use phone::Phone;
pub use statuses::{CallStatus, LeadStatus, ScheduledCallStatus};
pub use suppression::SuppressionSource;
