//! What a chaos run prints: the counts (leads by end state, dials, faults injected by kind,
//! kills) and each invariant's verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::invariants::{Invariant, Verdict};
use crate::sandbox::exotel::CallbackFaultCounts;

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Connect requests answered with a fault, by kind (e.g. "502 not placed").
    pub dial: BTreeMap<String, u64>,
    pub callbacks: CallbackFaultCounts,
    /// Provider requests failed or hung, Deepgram streams dropped.
    pub provider: u64,
    pub kills: usize,
}

#[derive(Debug, Clone)]
pub struct ChaosReport {
    pub seed: u64,
    pub backend: String,
    pub leads: usize,
    pub elapsed: Duration,
    /// The hard timeout struck before the campaign completed.
    pub timed_out: bool,
    pub campaign_status: String,
    pub leads_by_status: BTreeMap<String, usize>,
    /// Calls the simulator placed (phones rung).
    pub dials: usize,
    pub answered: usize,
    pub saved_conversations: usize,
    pub faults: FaultCounts,
    pub verdicts: Vec<(Invariant, Verdict)>,
}

impl ChaosReport {
    /// How many breaches were found, over every invariant.
    pub fn violations(&self) -> usize {
        self.verdicts
            .iter()
            .map(|(_, v)| match v {
                Verdict::Violated(list) => list.len(),
                _ => 0,
            })
            .sum()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "chaos run · seed {} · {} leads · {} · {:.0} s{}",
            self.seed,
            self.leads,
            self.backend,
            self.elapsed.as_secs_f64(),
            if self.timed_out { " · TIMED OUT" } else { "" }
        );
        let _ = writeln!(out, "campaign {}", self.campaign_status);
        let by_status: Vec<String> = self
            .leads_by_status
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        let _ = writeln!(out, "leads by end state: {}", by_status.join(" · "));
        let _ = writeln!(
            out,
            "dials: {} placed · {} answered · {} conversations saved",
            self.dials, self.answered, self.saved_conversations
        );
        let f = &self.faults;
        let dial: Vec<String> = f.dial.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(
            out,
            "faults: dial replies [{}] · callbacks dropped {} duplicated {} reordered {} · provider {} · server kills {}",
            if dial.is_empty() { "none".into() } else { dial.join(", ") },
            f.callbacks.dropped,
            f.callbacks.duplicated,
            f.callbacks.reordered,
            f.provider,
            f.kills
        );
        let _ = writeln!(out, "invariants:");
        for (invariant, verdict) in &self.verdicts {
            let (mark, detail) = match verdict {
                Verdict::Held => ("held    ", String::new()),
                Verdict::Violated(list) => ("VIOLATED", format!(" ({})", list.len())),
                Verdict::NotExercised(why) => ("skipped ", format!(" ({why})")),
            };
            let _ = writeln!(out, "  {mark} {}{detail}", invariant.describe());
            if let Verdict::Violated(list) = verdict {
                for line in list.iter().take(10) {
                    let _ = writeln!(out, "           - {line}");
                }
                if list.len() > 10 {
                    let _ = writeln!(out, "           … and {} more", list.len() - 10);
                }
            }
        }
        let _ = writeln!(out, "violations: {}", self.violations());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdicts: Vec<(Invariant, Verdict)>) -> ChaosReport {
        ChaosReport {
            seed: 1,
            backend: "sqlite".into(),
            leads: 2,
            elapsed: Duration::from_secs(3),
            timed_out: false,
            campaign_status: "COMPLETED".into(),
            leads_by_status: [("COMPLETED".to_string(), 2)].into(),
            dials: 2,
            answered: 1,
            saved_conversations: 1,
            faults: FaultCounts::default(),
            verdicts,
        }
    }

    #[test]
    fn violations_are_counted_and_listed() {
        let cases = [
            (vec![(Invariant::EveryLeadEnded, Verdict::Held)], 0, "held"),
            (
                vec![(
                    Invariant::AttemptsWithinMax,
                    Verdict::Violated(vec!["a".into(), "b".into()]),
                )],
                2,
                "VIOLATED",
            ),
            (
                vec![(
                    Invariant::SuppressedNeverDialed,
                    Verdict::NotExercised("no list".into()),
                )],
                0,
                "skipped",
            ),
        ];
        for (verdicts, n, word) in cases {
            let r = report(verdicts);
            assert_eq!(r.violations(), n);
            let text = r.render();
            assert!(text.contains(word), "{text}");
            assert!(text.contains(&format!("violations: {n}")), "{text}");
        }
    }
}
