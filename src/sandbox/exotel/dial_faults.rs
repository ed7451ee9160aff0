//! How the simulator answers `Calls/connect.json` when it is unkind: the ambiguous replies a
//! real network produces (issue 9). Some place the call and hide it from us (a cut 200, a
//! stall, a proxy's 502), some place nothing (a 502 before Exotel, a 429). Faults come from a
//! per-number script (tests), at random from a seed (the chaos run), or both.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The simulator's answer to one connect request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialReply {
    /// Places the call and answers 200 with the call.
    Normal,
    /// Places the call; the 200's body is cut off mid-JSON (no readable `Call.Sid`).
    CutBody,
    /// Places the call, then answers nothing until the client has given up.
    Stall,
    /// Places the call; a proxy in front answers 502.
    BadGatewayPlaced,
    /// Places nothing; 502.
    BadGatewayNotPlaced,
    /// Places nothing; 429 (Exotel's rate limit).
    TooManyRequests,
}

impl DialReply {
    /// Every unkind reply, for random draws.
    pub const FAULTS: [DialReply; 5] = [
        DialReply::CutBody,
        DialReply::Stall,
        DialReply::BadGatewayPlaced,
        DialReply::BadGatewayNotPlaced,
        DialReply::TooManyRequests,
    ];

    /// Whether this reply places a call (a phone rings) whatever the client sees.
    pub fn places_call(self) -> bool {
        !matches!(
            self,
            DialReply::BadGatewayNotPlaced | DialReply::TooManyRequests
        )
    }
}

/// Where replies come from.
#[derive(Debug)]
pub struct DialFaults {
    /// Per number (E.164): the n-th request for it gets the n-th reply (the last repeats).
    scripts: HashMap<String, Vec<DialReply>>,
    /// Requests seen per number, for the scripts.
    requests: HashMap<String, usize>,
    /// Share of other requests that get a random fault.
    random_rate: f64,
    rng: StdRng,
    /// How long a `Stall` holds its answer.
    pub stall: Duration,
}

impl Default for DialFaults {
    fn default() -> Self {
        DialFaults {
            scripts: HashMap::new(),
            requests: HashMap::new(),
            random_rate: 0.0,
            rng: StdRng::seed_from_u64(0),
            stall: Duration::from_secs(60),
        }
    }
}

impl DialFaults {
    pub fn script(&mut self, number: &str, replies: Vec<DialReply>) {
        self.scripts.insert(number.to_string(), replies);
    }

    /// A random fault for `rate` of the requests whose number has no script, drawn from `seed`.
    pub fn random(&mut self, rate: f64, seed: u64) {
        self.random_rate = rate.clamp(0.0, 1.0);
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// The reply for the next request for `number`.
    pub fn next(&mut self, number: &str) -> DialReply {
        let n = self.requests.entry(number.to_string()).or_insert(0);
        let index = *n;
        *n += 1;
        if let Some(script) = self.scripts.get(number).filter(|s| !s.is_empty()) {
            return script[index.min(script.len() - 1)];
        }
        if self.random_rate > 0.0 && self.rng.gen_bool(self.random_rate) {
            return DialReply::FAULTS[self.rng.gen_range(0..DialReply::FAULTS.len())];
        }
        DialReply::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_repeat_their_last_reply_and_others_are_normal() {
        let mut faults = DialFaults::default();
        faults.script("+1", vec![DialReply::CutBody, DialReply::Normal]);
        assert_eq!(faults.next("+1"), DialReply::CutBody);
        assert_eq!(faults.next("+1"), DialReply::Normal);
        assert_eq!(faults.next("+1"), DialReply::Normal);
        assert_eq!(faults.next("+2"), DialReply::Normal);
    }

    #[test]
    fn random_faults_follow_their_seed() {
        let draws = |seed| {
            let mut faults = DialFaults::default();
            faults.random(0.5, seed);
            (0..50).map(|_| faults.next("+3")).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        let faulty = draws(7).iter().filter(|r| **r != DialReply::Normal).count();
        assert!((10..=40).contains(&faulty), "{faulty}");
    }
}
