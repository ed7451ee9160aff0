//! Unkind delivery of status callbacks, as a real network and a real Exotel produce it: a
//! callback that never arrives, one that arrives twice, and an earlier-stage callback that
//! arrives after the call's terminal one. The chaos run turns these on; the runtime must end
//! every lead correctly anyway (lost callbacks are recovered from Call Details, repeats and
//! late earlier stages change nothing).
//!
//! Each callback's fate is a pure function of the run's seed and the callback's identity (the
//! number, which dial of that number, the event), not of call sids or timing, so a seeded run
//! draws the same fates again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What happens to one status callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackFate {
    Deliver,
    /// Never sent.
    Drop,
    /// Sent twice.
    Duplicate,
    /// Held back and sent after the call's next callback (a non-terminal event only).
    Reorder,
}

/// Shares of callbacks that are dropped, duplicated and reordered, each 0.0–1.0.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallbackFaultRates {
    pub drop: f64,
    pub duplicate: f64,
    pub reorder: f64,
}

#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
}

/// How many callbacks met each fault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackFaultCounts {
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// The simulator's callback fault plan. Cheap to clone; clones share the counters.
#[derive(Debug, Clone, Default)]
pub struct CallbackFaults {
    seed: u64,
    rates: CallbackFaultRates,
    counters: Arc<Counters>,
}

impl CallbackFaults {
    pub fn new(seed: u64, rates: CallbackFaultRates) -> CallbackFaults {
        CallbackFaults {
            seed,
            rates,
            counters: Arc::default(),
        }
    }

    /// The fate of the callback `event` of the `dial_index`-th dial of `number`, counted.
    pub fn fate(
        &self,
        number: &str,
        dial_index: usize,
        event: &str,
        terminal: bool,
    ) -> CallbackFate {
        let key = format!("{number}#{dial_index}#{event}");
        let fate = draw(self.seed, &key, self.rates, terminal);
        let counter = match fate {
            CallbackFate::Deliver => None,
            CallbackFate::Drop => Some(&self.counters.dropped),
            CallbackFate::Duplicate => Some(&self.counters.duplicated),
            CallbackFate::Reorder => Some(&self.counters.reordered),
        };
        if let Some(c) = counter {
            c.fetch_add(1, Ordering::SeqCst);
        }
        fate
    }

    pub fn counts(&self) -> CallbackFaultCounts {
        CallbackFaultCounts {
            dropped: self.counters.dropped.load(Ordering::SeqCst),
            duplicated: self.counters.duplicated.load(Ordering::SeqCst),
            reordered: self.counters.reordered.load(Ordering::SeqCst),
        }
    }
}

/// The pure draw: one uniform number in [0, 1) from (seed, key), cut into the three shares.
/// A terminal callback has nothing after it to be reordered behind, so it is delivered instead.
pub fn draw(seed: u64, key: &str, rates: CallbackFaultRates, terminal: bool) -> CallbackFate {
    let u = unit(seed, key);
    let drop = rates.drop.clamp(0.0, 1.0);
    let duplicate = drop + rates.duplicate.clamp(0.0, 1.0);
    let reorder = duplicate + rates.reorder.clamp(0.0, 1.0);
    if u < drop {
        CallbackFate::Drop
    } else if u < duplicate {
        CallbackFate::Duplicate
    } else if u < reorder && !terminal {
        CallbackFate::Reorder
    } else {
        CallbackFate::Deliver
    }
}

/// FNV-1a of the key mixed with the seed through splitmix64: stable across runs and platforms
/// (std's hasher is randomly keyed per process).
pub fn unit(seed: u64, key: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: CallbackFaultRates = CallbackFaultRates {
        drop: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
    };

    #[test]
    fn fates_follow_the_rates() {
        let cases = [
            // (rates, terminal, expected for every key)
            (NONE, false, CallbackFate::Deliver),
            (
                CallbackFaultRates { drop: 1.0, ..NONE },
                false,
                CallbackFate::Drop,
            ),
            (
                CallbackFaultRates { drop: 1.0, ..NONE },
                true,
                CallbackFate::Drop,
            ),
            (
                CallbackFaultRates {
                    duplicate: 1.0,
                    ..NONE
                },
                true,
                CallbackFate::Duplicate,
            ),
            (
                CallbackFaultRates {
                    reorder: 1.0,
                    ..NONE
                },
                false,
                CallbackFate::Reorder,
            ),
            // Nothing comes after a terminal callback: it cannot be held behind one.
            (
                CallbackFaultRates {
                    reorder: 1.0,
                    ..NONE
                },
                true,
                CallbackFate::Deliver,
            ),
        ];
        for (rates, terminal, expected) in cases {
            for key in ["+919800000001#0#answered", "+919800000002#1#terminal", ""] {
                assert_eq!(draw(42, key, rates, terminal), expected, "{rates:?} {key}");
            }
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_fates_and_another_seed_others() {
        let rates = CallbackFaultRates {
            drop: 0.2,
            duplicate: 0.2,
            reorder: 0.2,
        };
        let fates = |seed| -> Vec<CallbackFate> {
            (0..200)
                .map(|i| draw(seed, &format!("+9198{i:08}#0#answered"), rates, false))
                .collect()
        };
        assert_eq!(fates(7), fates(7));
        assert_ne!(fates(7), fates(8));
    }

    #[test]
    fn shares_come_out_near_the_rates() {
        let rates = CallbackFaultRates {
            drop: 0.1,
            duplicate: 0.2,
            reorder: 0.3,
        };
        let faults = CallbackFaults::new(3, rates);
        for i in 0..10_000 {
            faults.fate(&format!("+9198{i:08}"), 0, "answered", false);
        }
        let c = faults.counts();
        for (got, want) in [(c.dropped, 1000), (c.duplicated, 2000), (c.reordered, 3000)] {
            assert!(got.abs_diff(want) < 300, "{got} vs {want}");
        }
    }

    #[test]
    fn unit_stays_in_range() {
        for i in 0..1000 {
            let u = unit(i, &i.to_string());
            assert!((0.0..1.0).contains(&u));
        }
    }
}
