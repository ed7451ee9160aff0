//! Late answers, failed turns, restarts, permanent provider errors.

use super::*;
use crate::call::outcome::ConversationOutcome;
use ProviderErrorKind::{Auth, Quota, Timeout, Transient};

#[test]
fn late_and_failed_turns() {
    use Ev::*;
    // After the caller's "yes" (LLM asked at 4.8 s).
    // (name, steps, one-moment lines, generations asked, apology, hang-up, pause the campaign)
    type Case = (
        &'static str,
        &'static [(u64, Ev)],
        usize,
        usize,
        usize,
        usize,
        usize,
    );
    let cases: &[Case] = &[
        (
            "a first token in time: nothing extra",
            &[
                (5500, LlmText("Okay. ")),
                (5600, LlmDone),
                (5700, Synth(600)),
            ],
            0,
            1,
            0,
            0,
            0,
        ),
        (
            "a late first token: one moment, once",
            &[
                (7000, LlmText("Okay. ")),
                (7100, LlmDone),
                (7200, Synth(600)),
            ],
            1,
            1,
            0,
            0,
            0,
        ),
        (
            "no first token in 3.5 s: one moment again, a retry; none again: the apology",
            &[],
            2,
            2,
            1,
            1,
            0,
        ),
        (
            "a first token in time, TTS slow to start: one moment",
            &[
                (5000, LlmText("Okay. ")),
                (5100, LlmDone),
                (6800, Synth(600)),
            ],
            1,
            1,
            0,
            0,
            0,
        ),
        (
            "an LLM failure: one moment, one retry",
            &[(5000, LlmFailed(Transient)), (6000, LlmText("Okay. "))],
            1,
            2,
            0,
            0,
            0,
        ),
        (
            "a stream deadline counts as a failure",
            &[(5000, LlmFailed(Timeout)), (6000, LlmText("Okay. "))],
            1,
            2,
            0,
            0,
            0,
        ),
        (
            "failed twice: apology and hang-up",
            &[(5000, LlmFailed(Transient)), (5800, LlmFailed(Timeout))],
            1,
            2,
            1,
            1,
            0,
        ),
        (
            "TTS failed twice: apology and hang-up",
            &[
                (5000, LlmText("Which property type? ")),
                (5100, TtsFailed(Transient)),
                (5800, TtsFailed(Timeout)),
            ],
            1,
            1,
            1,
            1,
            0,
        ),
        (
            "a bad key: no retry, apology, hang-up, the campaign pauses",
            &[(5000, LlmFailed(Auth))],
            0,
            1,
            1,
            1,
            1,
        ),
        (
            "quota spent on TTS: the same",
            &[
                (5000, LlmText("Which property type? ")),
                (5100, TtsFailed(Quota)),
            ],
            0,
            1,
            1,
            1,
            1,
        ),
        (
            "a permanent error reported by the supervisor alone: the same",
            &[(5000, ChildFailed(Child::Stt, Auth))],
            0,
            1,
            1,
            1,
            1,
        ),
        (
            "three STT restarts in a minute are tolerated",
            &[
                (5000, ChildFailed(Child::Stt, Transient)),
                (5100, ChildFailed(Child::Stt, Transient)),
                (5200, ChildFailed(Child::Stt, Transient)),
                (5400, LlmText("Okay. ")),
                (5450, LlmDone),
                (5500, Synth(600)),
            ],
            0,
            1,
            0,
            0,
            0,
        ),
        (
            "a fourth gives up",
            &[
                (5000, ChildFailed(Child::Stt, Transient)),
                (5100, ChildFailed(Child::Stt, Transient)),
                (5200, ChildFailed(Child::Stt, Transient)),
                (5300, ChildFailed(Child::Stt, Transient)),
            ],
            0,
            1,
            1,
            1,
            0,
        ),
    ];
    for (name, extra, one_moment, generations, apology, hang_up, pause) in cases {
        let mut steps = answered();
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, 14_000);
        assert_eq!(
            h.count("one_moment"),
            *one_moment,
            "{name}: {:?}",
            h.kinds()
        );
        assert_eq!(h.count("generate"), *generations, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("apology"), *apology, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("hang_up"), *hang_up, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("pause_campaign"), *pause, "{name}: {:?}", h.kinds());
        if *apology > 0 {
            assert_eq!(
                h.core.verdict().outcome(),
                Some(ConversationOutcome::Error),
                "{name}"
            );
            // The apology is the last thing said; nothing is queued after it.
            let last = h
                .kinds()
                .into_iter()
                .rev()
                .find(|k| *k != "record")
                .unwrap();
            assert_eq!(last, "hang_up", "{name}: {:?}", h.kinds());
        }
    }
}

#[test]
fn without_prerendered_lines_the_apology_is_the_one_synthesised_at_start() {
    let mut cfg = config();
    cfg.prerendered = Prerendered::default();
    // Not synthesised yet: the call hangs up without a word (as before).
    let mut steps = answered();
    steps.push((5000, Ev::LlmFailed(ProviderErrorKind::Auth)));
    let h = Harness::script(cfg.clone(), &steps, 6000);
    assert_eq!((h.count("apology"), h.count("hang_up")), (0, 1));
    // Synthesised at start: it is played.
    let mut h = Harness::new(cfg);
    h.feed(Event::ApologyCached { samples: 8000 });
    for (ms, ev) in steps {
        h.at(ms, ev);
    }
    assert_eq!((h.count("apology"), h.count("hang_up")), (1, 1));
    // No "one moment" line without pre-rendered audio.
    assert_eq!(h.count("one_moment"), 0);
}

#[test]
fn the_time_up_line_ends_the_call() {
    let mut steps = answered();
    steps.extend([
        (5200, Ev::LlmText("Which property type? ")),
        (5300, Ev::Synth(2000)),
        (6000, Ev::TimeUp),
    ]);
    let h = Harness::script(config(), &steps, 8000);
    assert_eq!(h.count("clear"), 1);
    assert_eq!(h.count("time_up"), 1);
    assert_eq!(h.count("hang_up"), 1, "{:?}", h.kinds());
    let t = h.transcript();
    assert!(t.iter().any(|x| x.1 == "We are out of time, bye."), "{t:?}");
}

/// The LLM never answers: from the caller's end of speech to the apology, the longest stretch
/// with no agent audio stays about 3 s (one moment at 1.5 s, again at the 3.5 s deadline with
/// the retry, the apology at the second deadline).
#[test]
fn a_stalled_llm_never_leaves_the_caller_long_in_silence() {
    let h = Harness::script(config(), &answered(), 20_000);
    let cfg = config();
    let length = |line: &Line| {
        let samples = match line {
            Line::Apology => cfg.prerendered.apology,
            Line::OneMoment => cfg.prerendered.one_moment,
            Line::TimeUp => cfg.prerendered.time_up,
        };
        samples.unwrap() as u64 * 1000 / RATE as u64
    };
    let mut heard_until = 4800; // the caller's "yes" ended the turn
    let mut longest = 0;
    for (c, ms) in h.out.iter().zip(&h.out_ms) {
        if let Command::PlayLine { line, .. } = c {
            longest = longest.max(ms.saturating_sub(heard_until));
            heard_until = heard_until.max(*ms) + length(line);
        }
    }
    assert_eq!(h.count("apology"), 1, "{:?}", h.kinds());
    assert!(longest <= 3300, "{longest} ms of silence: {:?}", h.kinds());
}

/// The answer's first clause played, the next one stalls in TTS: after `late_next_clause` of
/// silence the caller hears "one moment", not nothing until the TTS deadline.
#[test]
fn a_stall_after_an_audible_clause_says_one_moment() {
    use Ev::*;
    let mut steps = answered();
    steps.extend([
        (5000, LlmText("Thanks! ")),
        (5010, LlmText("A flat in Shimla. ")),
        (5020, LlmDone),
        (5100, SynthPart(500)),
    ]);
    // "Thanks!" plays 5.1–5.6 s; nothing more comes.
    let h = Harness::script(config(), &steps, 6500);
    assert_eq!(h.count("one_moment"), 0, "{:?}", h.kinds());
    let h = Harness::script(config(), &steps, 6800);
    assert_eq!(h.count("one_moment"), 1, "{:?}", h.kinds());
    let at = h.out_ms[h
        .out
        .iter()
        .position(|c| kind_of(c) == "one_moment")
        .unwrap()];
    assert!((6600..=6700).contains(&at), "one moment at {at} ms");
}

/// A closing line whose audio never comes (the TTS stalls on it) still ends the call: at
/// `closing_cap` (15 s) after it began, not at Exotel's time limit.
#[test]
fn a_closing_line_that_never_plays_hangs_up_at_the_cap() {
    let mut cfg = config();
    cfg.prerendered.time_up = None;
    let mut steps = greeted();
    steps.push((5000, Ev::TimeUp));
    let before = Harness::script(cfg.clone(), &steps, 19_900);
    let spoken = before.spoken();
    assert!(
        spoken.iter().any(|s| s.contains("out of time")),
        "{spoken:?}"
    );
    assert_eq!(before.count("hang_up"), 0, "{:?}", before.kinds());
    let after = Harness::script(cfg, &steps, 20_100);
    assert_eq!(after.count("hang_up"), 1, "{:?}", after.kinds());
}
