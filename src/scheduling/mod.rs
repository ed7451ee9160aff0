//! When calls may be placed: calling windows, the retry policy and request pacing. Pure rules,
//! no I/O, so every case (midnight, DST, Sundays) is unit-tested.

pub mod dial_settlement;
pub mod pacer;
pub mod retry;
pub mod window;

pub use pacer::Pacer;
pub use retry::{next_step, NextStep, RetryPolicy};
pub use window::CallingWindow;
