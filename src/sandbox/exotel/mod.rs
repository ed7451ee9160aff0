//! A simulated Exotel: the REST API (`Calls/connect.json` with Basic auth, the per-minute
//! limit, `RestException` errors, Call Details) and each call's life (queued → ringing →
//! answered or busy / no-answer / failed) with the status callbacks Exotel sends, Bulk Call
//! Details, and on demand the ambiguous answers of a real network (`dial_faults.rs`).

mod call_list;
mod callback_faults;
mod calls;
mod dial_faults;
mod handoff_flow;
pub mod media_client;
mod rest;
mod scenario;

pub use callback_faults::{CallbackFate, CallbackFaultCounts, CallbackFaultRates, CallbackFaults};
pub use calls::DialRecord;
pub use dial_faults::DialReply;
pub use handoff_flow::{HandoffFlow, HandoffReport};
pub use rest::{ConnectRequest, ExotelSimulator, SimulatorConfig, VoiceSetup};
pub use scenario::Outcome;
