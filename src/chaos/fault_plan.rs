//! The fault plan: every random choice of a chaos run, drawn up front from its seed — who the
//! leads are and how each one's phone behaves, which numbers are suppressed, after how many
//! dials the server is killed, how often each fault strikes. Pure: the same seed and options
//! give the same plan (the run itself then only differs where the OS's timing does).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sandbox::exotel::{CallbackFaultRates, Outcome};

/// How often each fault strikes, each a share 0.0–1.0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    /// Connect requests answered with a fault (5xx, timeout, cut 200, 429).
    pub dial: f64,
    pub callbacks: CallbackFaultRates,
    /// Provider requests (OpenAI, ElevenLabs) that fail, and calls whose Deepgram stream drops.
    pub provider: f64,
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates {
            dial: 0.05,
            callbacks: CallbackFaultRates {
                drop: 0.05,
                duplicate: 0.05,
                reorder: 0.05,
            },
            provider: 0.03,
        }
    }
}

/// One simulated lead: its number, what its phone does dial after dial, who answers.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLead {
    /// E.164.
    pub phone: String,
    /// The n-th dial takes the n-th outcome; the last repeats.
    pub script: Vec<Outcome>,
    /// The persona who talks when the call is answered (`Persona::by_name`).
    pub persona: &'static str,
}

/// Everything a run decides at random, decided once.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    pub seed: u64,
    /// The campaign under test, whose window is open.
    pub leads: Vec<PlannedLead>,
    /// Numbers put on the suppression list before the upload (some are leads, some not).
    pub suppressed_before_upload: Vec<String>,
    /// Leads put on the suppression list after their upload, before the start.
    pub suppressed_after_upload: Vec<String>,
    /// Leads of a second campaign whose window is shut for the whole run: never to be dialed.
    pub closed_window_leads: Vec<String>,
    /// Kill the server when the simulator has accepted this many dials (ascending).
    pub kill_after_dials: Vec<usize>,
    /// How long the server stays dead after each kill, ms.
    pub restart_after_ms: Vec<u64>,
    pub rates: FaultRates,
}

/// Personas whose conversations end in seconds and settle the lead (no call-back next week).
const PERSONAS: [&str; 6] = [
    "interested",
    "not_interested",
    "do_not_call",
    "wrong_number",
    "hang_up",
    "not_interested",
];

impl FaultPlan {
    /// `concurrency` places the kills after the first wave of calls, when conversations are
    /// under way.
    pub fn new(
        seed: u64,
        leads: usize,
        kills: usize,
        concurrency: usize,
        rates: FaultRates,
    ) -> FaultPlan {
        let mut rng = StdRng::seed_from_u64(seed);
        let planned: Vec<PlannedLead> = (0..leads)
            .map(|i| PlannedLead {
                phone: format!("+9198{:08}", i),
                script: script(rng.gen_range(0..100)),
                persona: PERSONAS[rng.gen_range(0..PERSONAS.len())],
            })
            .collect();
        // About one lead in 40 each way, at least one.
        let share = (leads / 40).max(1).min(leads);
        let mut picks: Vec<usize> = (0..leads).collect();
        shuffle(&mut picks, &mut rng);
        let mut suppressed_before_upload: Vec<String> = picks
            .iter()
            .take(share)
            .map(|&i| planned[i].phone.clone())
            .collect();
        // Numbers on the list that no campaign holds: the list is node-wide.
        suppressed_before_upload.push("+919700000001".into());
        let suppressed_after_upload = picks
            .iter()
            .skip(share)
            .take(share.min(leads.saturating_sub(share)))
            .map(|&i| planned[i].phone.clone())
            .collect();
        let closed_window_leads = (0..3).map(|i| format!("+9196{:08}", i)).collect();
        let kill_after_dials = kill_points(&mut rng, leads, kills, concurrency);
        let restart_after_ms = (0..kills).map(|_| rng.gen_range(200..=1500)).collect();
        FaultPlan {
            seed,
            leads: planned,
            suppressed_before_upload,
            suppressed_after_upload,
            closed_window_leads,
            kill_after_dials,
            restart_after_ms,
            rates,
        }
    }

    /// The main campaign's CSV.
    pub fn leads_csv(&self) -> String {
        csv(self.leads.iter().map(|l| l.phone.as_str()))
    }

    pub fn closed_window_csv(&self) -> String {
        csv(self.closed_window_leads.iter().map(String::as_str))
    }
}

fn csv<'a>(phones: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("name,phone\n");
    for (i, phone) in phones.enumerate() {
        out.push_str(&format!("Chaos Lead {i},{phone}\n"));
    }
    out
}

/// A phone's behaviour from a draw in 0..100: most answer at once, some after a busy, failed
/// or unanswered try, some never answer (they end EXHAUSTED), a few numbers are invalid.
fn script(draw: u32) -> Vec<Outcome> {
    use Outcome::*;
    match draw {
        0..=49 => vec![Answer],
        50..=64 => vec![Busy, Answer],
        65..=74 => vec![NoAnswer, Answer],
        75..=84 => vec![Failed, Answer],
        85..=94 => vec![NoAnswer],
        _ => vec![Reject],
    }
}

/// Kill points spread over the run's dials, distinct: after the first wave of `concurrency`
/// dials (so some calls have ended and others are mid-conversation), and before 80 % of one
/// dial per lead (so that they happen).
fn kill_points(rng: &mut StdRng, leads: usize, kills: usize, concurrency: usize) -> Vec<usize> {
    let low = (leads * 20 / 100).max(concurrency + 1);
    let high = (leads * 80 / 100).max(low + 1);
    let mut points: Vec<usize> = (0..kills).map(|_| rng.gen_range(low..=high)).collect();
    points.sort_unstable();
    for i in 1..points.len() {
        if points[i] <= points[i - 1] {
            points[i] = points[i - 1] + 1;
        }
    }
    points
}

/// Fisher–Yates with the plan's RNG (rand's `shuffle` would do, spelled out so the order is
/// plainly a function of the seed).
fn shuffle<T>(items: &mut [T], rng: &mut StdRng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.gen_range(0..=i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_plan() {
        let rates = FaultRates::default();
        assert_eq!(
            FaultPlan::new(11, 50, 2, 10, rates),
            FaultPlan::new(11, 50, 2, 10, rates)
        );
        assert_ne!(
            FaultPlan::new(11, 50, 2, 10, rates).leads,
            FaultPlan::new(12, 50, 2, 10, rates).leads
        );
    }

    #[test]
    fn plans_have_the_asked_shape() {
        // (leads, kills, suppressed among the leads before upload, after upload)
        let cases = [(200, 2, 5, 5), (40, 1, 1, 1), (1, 2, 1, 0), (3, 0, 1, 1)];
        for (leads, kills, before, after) in cases {
            let plan = FaultPlan::new(5, leads, kills, 10, FaultRates::default());
            assert_eq!(plan.leads.len(), leads);
            assert_eq!(plan.kill_after_dials.len(), kills, "{leads} leads");
            assert!(plan.kill_after_dials.windows(2).all(|w| w[0] < w[1]));
            assert!(
                plan.kill_after_dials.iter().all(|&k| k > 10),
                "after the first wave"
            );
            let phones: Vec<&str> = plan.leads.iter().map(|l| l.phone.as_str()).collect();
            let among =
                |list: &[String]| list.iter().filter(|p| phones.contains(&p.as_str())).count();
            assert_eq!(among(&plan.suppressed_before_upload), before, "{leads}");
            assert_eq!(among(&plan.suppressed_after_upload), after, "{leads}");
            for p in &plan.suppressed_after_upload {
                assert!(!plan.suppressed_before_upload.contains(p));
            }
            for p in &plan.closed_window_leads {
                assert!(!phones.contains(&p.as_str()));
            }
        }
    }

    #[test]
    fn scripts_cover_every_behaviour() {
        use Outcome::*;
        let cases = [
            (0, vec![Answer]),
            (50, vec![Busy, Answer]),
            (65, vec![NoAnswer, Answer]),
            (75, vec![Failed, Answer]),
            (85, vec![NoAnswer]),
            (99, vec![Reject]),
        ];
        for (draw, expected) in cases {
            assert_eq!(script(draw), expected, "{draw}");
        }
    }

    #[test]
    fn lead_numbers_are_valid_indian_mobiles() {
        let plan = FaultPlan::new(1, 30, 1, 10, FaultRates::default());
        let leads = plan.leads.iter().map(|l| &l.phone);
        let all = leads
            .chain(&plan.closed_window_leads)
            .chain(&plan.suppressed_before_upload);
        for p in all {
            assert!(crate::domain::Phone::parse(p).is_ok(), "{p}");
        }
    }
}
