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
            &[(5500, LlmText("Okay. "))],
            0,
            1,
            0,
            0,
            0,
        ),
        (
            "a late first token: one moment, once",
            &[(7000, LlmText("Okay. "))],
            1,
            1,
            0,
            0,
            0,
        ),
        (
            "no first token in 4 s: a retry; none again in 4 s: the apology",
            &[],
            1,
            2,
            1,
            1,
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
