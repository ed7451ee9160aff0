//! The invariant checks of a chaos run: pure functions from the evidence — what the database
//! says (leads, saved conversations, campaign windows) and what the simulator's own log says
//! (every call it placed, every call a phone answered) — to a verdict per invariant.
//!
//! The simulator's log is the judge of what reached a phone: the runtime's own records are
//! what is under test.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::domain::LeadStatus;
use crate::scheduling::CallingWindow;

/// One lead of the campaign under test, as the database has it at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadEnd {
    pub id: i64,
    pub phone: String,
    pub status: LeadStatus,
}

/// One call the simulator placed (it rang a phone).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedCall {
    pub call_sid: String,
    pub phone: String,
    pub at: DateTime<Utc>,
}

/// What the checks look at.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub leads: Vec<LeadEnd>,
    pub placed: Vec<PlacedCall>,
    /// Calls whose media stream a phone opened: someone picked up and the bot was connected.
    pub answered: Vec<PlacedCall>,
    /// Call sids with a saved conversation (transcript and outcome) in the database.
    pub saved: BTreeSet<String>,
    /// Each campaign number's window and attempt limit.
    pub rules: HashMap<String, NumberRules>,
    /// The suppression list at the end (the run's own entries and those calls wrote), with
    /// when each number was listed; `None` when the server has no list.
    pub suppressed: Option<BTreeMap<String, DateTime<Utc>>>,
}

/// The rules one number is dialed under (its campaign's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberRules {
    pub window: CallingWindow,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    EveryLeadEnded,
    AttemptsWithinMax,
    SuppressedNeverDialed,
    DialsInsideWindow,
    AnsweredCallsSaved,
}

impl Invariant {
    pub fn describe(self) -> &'static str {
        match self {
            Invariant::EveryLeadEnded => "every lead reached an end state",
            Invariant::AttemptsWithinMax => "no number got more dials than max_attempts",
            Invariant::SuppressedNeverDialed => "no suppressed number was dialed (once listed)",
            Invariant::DialsInsideWindow => "no dial outside the calling window",
            Invariant::AnsweredCallsSaved => "every answered call has a saved conversation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Held,
    /// Each entry names one breach.
    Violated(Vec<String>),
    /// The run could not exercise it (and says why); not a violation.
    NotExercised(String),
}

impl Verdict {
    fn from(breaches: Vec<String>) -> Verdict {
        if breaches.is_empty() {
            Verdict::Held
        } else {
            Verdict::Violated(breaches)
        }
    }
}

/// Every invariant's verdict, in a fixed order.
pub fn check(e: &Evidence) -> Vec<(Invariant, Verdict)> {
    vec![
        (Invariant::EveryLeadEnded, every_lead_ended(e)),
        (Invariant::AttemptsWithinMax, attempts_within_max(e)),
        (Invariant::SuppressedNeverDialed, suppressed_never_dialed(e)),
        (Invariant::DialsInsideWindow, dials_inside_window(e)),
        (Invariant::AnsweredCallsSaved, answered_calls_saved(e)),
    ]
}

fn every_lead_ended(e: &Evidence) -> Verdict {
    Verdict::from(
        e.leads
            .iter()
            .filter(|l| {
                !matches!(
                    l.status,
                    LeadStatus::Completed | LeadStatus::Exhausted | LeadStatus::Failed
                )
            })
            .map(|l| format!("lead {} ({}) is {}", l.id, mask(&l.phone), l.status))
            .collect(),
    )
}

fn attempts_within_max(e: &Evidence) -> Verdict {
    let mut per_number: BTreeMap<&str, u32> = BTreeMap::new();
    for call in &e.placed {
        *per_number.entry(call.phone.as_str()).or_default() += 1;
    }
    Verdict::from(
        per_number
            .into_iter()
            .filter_map(|(phone, dials)| {
                let max = e.rules.get(phone).map(|r| r.max_attempts);
                match max {
                    Some(max) if dials <= max => None,
                    Some(max) => Some(format!(
                        "{} was dialed {dials} times (max_attempts {max})",
                        mask(phone)
                    )),
                    None => Some(format!(
                        "{} is on no campaign and was dialed {dials} times",
                        mask(phone)
                    )),
                }
            })
            .collect(),
    )
}

fn suppressed_never_dialed(e: &Evidence) -> Verdict {
    let Some(suppressed) = &e.suppressed else {
        return Verdict::NotExercised(
            "the server has no suppression list (POST /suppressions)".into(),
        );
    };
    if suppressed.is_empty() {
        return Verdict::NotExercised("no number was suppressed".into());
    }
    Verdict::from(
        e.placed
            .iter()
            .filter(|c| {
                suppressed
                    .get(&c.phone)
                    .is_some_and(|listed| c.at >= *listed)
            })
            .map(|c| {
                format!(
                    "suppressed {} was dialed at {} (call {})",
                    mask(&c.phone),
                    c.at.to_rfc3339(),
                    c.call_sid
                )
            })
            .collect(),
    )
}

fn dials_inside_window(e: &Evidence) -> Verdict {
    Verdict::from(
        e.placed
            .iter()
            .filter(|c| {
                e.rules
                    .get(&c.phone)
                    .is_some_and(|r| !r.window.is_open(c.at))
            })
            .map(|c| {
                format!(
                    "{} was dialed at {}, outside its window",
                    mask(&c.phone),
                    c.at.to_rfc3339()
                )
            })
            .collect(),
    )
}

fn answered_calls_saved(e: &Evidence) -> Verdict {
    Verdict::from(
        e.answered
            .iter()
            .filter(|c| !e.saved.contains(&c.call_sid))
            .map(|c| {
                format!(
                    "call {} to {} was answered; no conversation was saved",
                    c.call_sid,
                    mask(&c.phone)
                )
            })
            .collect(),
    )
}

/// `+91******3210`: phone numbers stay out of printed reports.
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallingDays;
    use chrono::TimeZone;

    const A: &str = "+919800000001";
    const B: &str = "+919800000002";

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, hour, 0, 0).unwrap()
    }

    fn rules() -> NumberRules {
        NumberRules {
            window: CallingWindow {
                start_hour: 9,
                end_hour: 21,
                timezone: chrono_tz::UTC,
                days: CallingDays::parse("Mon-Sun").unwrap(),
                floor: None,
            },
            max_attempts: 2,
        }
    }

    fn call(sid: &str, phone: &str, hour: u32) -> PlacedCall {
        PlacedCall {
            call_sid: sid.into(),
            phone: phone.into(),
            at: at(hour),
        }
    }

    fn lead(id: i64, phone: &str, status: LeadStatus) -> LeadEnd {
        LeadEnd {
            id,
            phone: phone.into(),
            status,
        }
    }

    /// A clean run: two leads, one answered and saved, one exhausted after two dials.
    fn clean() -> Evidence {
        Evidence {
            leads: vec![
                lead(1, A, LeadStatus::Completed),
                lead(2, B, LeadStatus::Exhausted),
            ],
            placed: vec![call("s1", A, 10), call("s2", B, 10), call("s3", B, 11)],
            answered: vec![call("s1", A, 10)],
            saved: ["s1".to_string()].into(),
            rules: [(A.to_string(), rules()), (B.to_string(), rules())].into(),
            suppressed: Some(
                [
                    ("+919700000001".to_string(), at(9)),
                    (A.to_string(), at(11)),
                ]
                .into(),
            ),
        }
    }

    fn verdict(e: &Evidence, which: Invariant) -> Verdict {
        check(e).into_iter().find(|(i, _)| *i == which).unwrap().1
    }

    fn violated(v: &Verdict) -> usize {
        match v {
            Verdict::Violated(list) => list.len(),
            _ => 0,
        }
    }

    #[test]
    fn a_clean_run_holds_everything() {
        for (i, v) in check(&clean()) {
            assert_eq!(v, Verdict::Held, "{i:?}");
        }
    }

    #[test]
    fn each_breach_is_caught_by_its_invariant() {
        type Breach = fn(&mut Evidence);
        let cases: Vec<(&str, Breach, Invariant)> = vec![
            (
                "a lead left scheduled",
                |e| e.leads[1].status = LeadStatus::Scheduled,
                Invariant::EveryLeadEnded,
            ),
            (
                "a lead left in progress",
                |e| e.leads[0].status = LeadStatus::InProgress,
                Invariant::EveryLeadEnded,
            ),
            (
                "a lead never planned",
                |e| e.leads[0].status = LeadStatus::New,
                Invariant::EveryLeadEnded,
            ),
            (
                "a third dial",
                |e| e.placed.push(call("s4", B, 12)),
                Invariant::AttemptsWithinMax,
            ),
            (
                "a number on no campaign",
                |e| e.placed.push(call("s4", "+919999999999", 12)),
                Invariant::AttemptsWithinMax,
            ),
            (
                "a suppressed number dialed",
                |e| e.placed.push(call("s4", A, 12)),
                Invariant::SuppressedNeverDialed,
            ),
            (
                "a dial at 22:00",
                |e| e.placed[2].at = at(22),
                Invariant::DialsInsideWindow,
            ),
            (
                "a dial at 08:00",
                |e| e.placed[1].at = at(8),
                Invariant::DialsInsideWindow,
            ),
            (
                "an answered call not saved",
                |e| e.saved.clear(),
                Invariant::AnsweredCallsSaved,
            ),
        ];
        for (name, breach, which) in cases {
            let mut e = clean();
            breach(&mut e);
            for (i, v) in check(&e) {
                let expected = usize::from(i == which);
                assert_eq!(violated(&v), expected, "{name}: {i:?} {v:?}");
            }
        }
    }

    #[test]
    fn without_a_suppression_list_that_check_is_not_exercised() {
        let mut e = clean();
        e.suppressed = None;
        assert!(matches!(
            verdict(&e, Invariant::SuppressedNeverDialed),
            Verdict::NotExercised(_)
        ));
        e.suppressed = Some(BTreeMap::new());
        assert!(matches!(
            verdict(&e, Invariant::SuppressedNeverDialed),
            Verdict::NotExercised(_)
        ));
    }

    #[test]
    fn breaches_never_print_a_whole_number() {
        let mut e = clean();
        e.leads[0].status = LeadStatus::Scheduled;
        e.placed.push(call("s4", B, 22));
        for (_, v) in check(&e) {
            if let Verdict::Violated(list) = v {
                for line in list {
                    assert!(!line.contains(A) && !line.contains(B), "{line}");
                }
            }
        }
    }

    #[test]
    fn masks() {
        for (raw, masked) in [
            ("+919876543210", "+91******3210"),
            ("12345", "*****"),
            ("", ""),
        ] {
            assert_eq!(mask(raw), masked);
        }
    }
}
