//! Exotel: dialing over REST (`client.rs`), the ids we ride along in `CustomField`
//! (`custom_field.rs`) and the status vocabulary (`status.rs`). The contract is
//! shared/specs/exotel.md.

pub mod call_list;
pub mod callback;
pub mod client;
pub mod custom_field;
pub mod status;

pub use call_list::ListedCall;
pub use callback::StatusCallback;
pub use client::{CallInfo, ConnectCall, ExotelClient, ExotelError};
pub use custom_field::CallRef;
pub use status::parse_status;
