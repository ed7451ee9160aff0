//! What happens when a simulated number is dialed.

use std::collections::HashMap;
use std::time::Duration;

/// The fate of one dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered, then hung up after the talk time.
    Answer,
    Busy,
    NoAnswer,
    Failed,
    /// Answered and kept on the line until `ExotelSimulator::release_held` (tests of restarts).
    Hold,
    /// The REST request is refused with 400 (an invalid number): a permanent error.
    Reject,
}

/// Per-number scripts: the n-th dial of a number takes the n-th outcome (the last repeats).
#[derive(Debug, Clone)]
pub struct Scenario {
    pub per_number: HashMap<String, Vec<Outcome>>,
    pub default: Outcome,
    pub ring_time: Duration,
    pub talk_time: Duration,
}

impl Scenario {
    pub fn outcome(&self, number: &str, dial_index: usize) -> Outcome {
        match self.per_number.get(number) {
            Some(script) if !script.is_empty() => script[dial_index.min(script.len() - 1)],
            _ => self.default,
        }
    }
}
