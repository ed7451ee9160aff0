//! A simulated Exotel: the REST API (`Calls/connect.json` with Basic auth, the per-minute
//! limit, `RestException` errors, Call Details) and each call's life (queued → ringing →
//! answered or busy / no-answer / failed) with the status callbacks Exotel sends.

mod callback_faults;
mod calls;
pub mod media_client;
mod rest;
mod scenario;

pub use callback_faults::{CallbackFate, CallbackFaultCounts, CallbackFaultRates, CallbackFaults};
pub use calls::DialRecord;
pub use rest::{ExotelSimulator, SimulatorConfig, VoiceSetup};
pub use scenario::Outcome;
