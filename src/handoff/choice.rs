//! Which number a transfer rings: by the campaign's strategy, skipping numbers already on a
//! transfer, and none at all when the campaign has as many transfers ringing or talking as
//! it allows (`max_concurrent_transfers`).

use super::settings::TransferStrategy;
use crate::domain::Phone;

/// The number to dial, or `None` (every number busy, or the limit reached). `turn` is the
/// round-robin counter (this transfer's place in the campaign's sequence); `engaged` the
/// numbers on an unsettled transfer now; `active` how many transfers are unsettled.
pub fn choose_destination(
    numbers: &[Phone],
    strategy: TransferStrategy,
    turn: u64,
    engaged: &[String],
    active: usize,
    max_concurrent: usize,
) -> Option<Phone> {
    if numbers.is_empty() || active >= max_concurrent {
        return None;
    }
    let start = match strategy {
        TransferStrategy::InOrder => 0,
        TransferStrategy::RoundRobin => (turn % numbers.len() as u64) as usize,
    };
    (0..numbers.len())
        .map(|i| &numbers[(start + i) % numbers.len()])
        .find(|n| !engaged.iter().any(|e| e == n.as_str()))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (strategy, turn, engaged numbers, active transfers, limit) → the number chosen.
    type Case<'a> = (
        TransferStrategy,
        u64,
        Vec<String>,
        usize,
        usize,
        Option<&'a Phone>,
    );

    #[test]
    fn numbers_are_chosen_by_strategy_and_load() {
        let a = Phone::from_trusted("+919800000001".into());
        let b = Phone::from_trusted("+919800000002".into());
        let c = Phone::from_trusted("+919800000003".into());
        let all = vec![a.clone(), b.clone(), c.clone()];
        use TransferStrategy::*;
        let s = |p: &Phone| p.as_str().to_string();
        // (strategy, turn, engaged, active, max) → expected
        let cases: Vec<Case> = vec![
            (InOrder, 0, vec![], 0, 3, Some(&a)),
            (InOrder, 7, vec![], 0, 3, Some(&a)),
            (InOrder, 0, vec![s(&a)], 1, 3, Some(&b)),
            (InOrder, 0, vec![s(&a), s(&b)], 2, 3, Some(&c)),
            (InOrder, 0, vec![s(&a), s(&b), s(&c)], 2, 9, None),
            (InOrder, 0, vec![], 1, 1, None),
            (RoundRobin, 0, vec![], 0, 3, Some(&a)),
            (RoundRobin, 1, vec![], 0, 3, Some(&b)),
            (RoundRobin, 5, vec![], 0, 3, Some(&c)),
            (RoundRobin, 6, vec![], 0, 3, Some(&a)),
            (RoundRobin, 1, vec![s(&b)], 1, 3, Some(&c)),
            (RoundRobin, 2, vec![s(&c)], 1, 3, Some(&a)),
            (RoundRobin, 2, vec![], 3, 3, None),
        ];
        for (strategy, turn, engaged, active, max, want) in cases {
            assert_eq!(
                choose_destination(&all, strategy, turn, &engaged, active, max).as_ref(),
                want,
                "{strategy:?} turn {turn} engaged {engaged:?} active {active}/{max}"
            );
        }
        assert_eq!(choose_destination(&[], InOrder, 0, &[], 0, 1), None);
    }
}
