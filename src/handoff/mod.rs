//! Hand-off to a human (issue 14): in Exotel's connect-to-flow mode the bot says the hand-off
//! line, records the decision keyed by `CallSid` and closes its stream; the flow's Passthru asks
//! us whether to transfer (`answers::passthru_status`), its Connect whom to dial
//! (`choice::choose_destination`, `answers::ConnectAnswer`), and an async Passthru in the
//! Connect's exits whether the human answered (`result::TransferResult`).

pub mod answers;
pub mod choice;
pub mod legs;
pub mod offer;
pub mod result;
pub mod settings;

pub use answers::{passthru_status, ConnectAnswer, ConnectFormat};
pub use choice::choose_destination;
pub use offer::{handoff_offer, HandoffOffer};
pub use result::TransferResult;
pub use settings::{TransferHours, TransferNumbers, TransferStrategy};
