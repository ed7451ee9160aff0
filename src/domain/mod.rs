//! Domain types shared by the API, the store and the actors: parsed once, valid everywhere.

pub mod call_duration;
pub mod campaign_status;
pub mod phone;
pub mod pii;
pub mod recording;
pub mod statuses;
pub mod suppression;

pub use call_duration::CallDuration;
pub use campaign_status::{CampaignStatus, IllegalTransition};
pub use phone::Phone;
pub use pii::Masked;
pub use recording::{CallRecording, RecordingName};
pub use statuses::{CallStatus, LeadStatus, ScheduledCallStatus};
pub use suppression::SuppressionSource;
