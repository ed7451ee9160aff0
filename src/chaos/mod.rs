//! `voice-runtime chaos`: a campaign run against the Exotel simulator while faults strike at
//! random — dial replies, status callbacks dropped, duplicated and reordered, provider failures
//! mid-call, the server SIGKILLed and restarted — then the invariants checked from the
//! database and the simulator's own log. Repeatable from its seed.
//!
//! - `fault_plan`: every random choice, drawn up front from the seed (pure);
//! - `windows`: the run's open and shut calling windows (pure);
//! - `server_process`: the real `serve` child, killed and restarted;
//! - `invariants`: evidence in, verdicts out (pure);
//! - `report`: the counts and verdicts as printed;
//! - `run`: the run itself.

pub mod fault_plan;
pub mod invariants;
pub mod report;
mod run;
pub mod server_process;
pub mod windows;

pub use fault_plan::{FaultPlan, FaultRates};
pub use report::ChaosReport;
pub use run::{run, ChaosOptions};
