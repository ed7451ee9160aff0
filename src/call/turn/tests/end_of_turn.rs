//! A caller's turn ends on the recogniser's end of turn, not on a breath.

use super::*;

#[test]
fn the_turn_ends_on_speech_final_or_utterance_end_not_vad_silence() {
    use Ev::*;
    // (name, steps after the greeting, when to look, LLM asked by then, the caller's words)
    let cases: &[(&str, &[(u64, Ev)], u64, usize, &str)] = &[
        (
            "a breath between two finals does not split the turn",
            &[
                (4000, SpeechStarted),
                (4600, SpeechEnded),
                (4700, Final("I want a flat", false)),
                (5000, SpeechStarted),
                (5800, SpeechEnded),
                (6100, Final("in Pune", true)),
            ],
            6500,
            1,
            "I want a flat in Pune",
        ),
        (
            "not yet: a final without speech_final, VAD silent for 1 s",
            &[
                (4000, SpeechStarted),
                (4600, SpeechEnded),
                (4700, Final("I want a flat", false)),
            ],
            5600,
            0,
            "",
        ),
        (
            "UtteranceEnd ends it",
            &[
                (4000, SpeechStarted),
                (4600, SpeechEnded),
                (4700, Final("I want a flat", false)),
                (5600, UtteranceEnd),
            ],
            5700,
            1,
            "I want a flat",
        ),
        (
            "the recogniser lost the end of turn: VAD silence ends it after 2.5 s",
            &[
                (4000, SpeechStarted),
                (4600, SpeechEnded),
                (4700, Final("I want a flat", false)),
            ],
            7200,
            1,
            "I want a flat",
        ),
        (
            "a key press ends it",
            &[(4200, Dtmf("1"))],
            4300,
            1,
            "[the caller pressed 1 on the keypad]",
        ),
    ];
    for (name, extra, until, asked, words) in cases {
        let mut steps = greeted();
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, *until);
        assert_eq!(h.count("generate"), *asked, "{name}: {:?}", h.kinds());
        let callers: Vec<_> = h
            .transcript()
            .into_iter()
            .filter(|t| t.0 == "user")
            .collect();
        if *asked > 0 {
            assert_eq!(callers.len(), 1, "{name}");
            assert_eq!(callers[0].1, *words, "{name}");
        } else {
            assert!(callers.is_empty(), "{name}");
        }
    }
}

#[test]
fn silence_reprompts_then_closes() {
    // Greeting played by 3.5 s; re-prompt 5 s later; then the closing line and a hang-up.
    let mut h = Harness::script(config(), &greeted(), 8400);
    assert_eq!(
        h.spoken().last().map(String::as_str),
        Some("Are you looking for a flat?")
    );
    h.advance_to(8600);
    assert_eq!(h.spoken().last().map(String::as_str), Some("Still there?"));
    h.at(8700, Ev::Synth(1000)).at(9800, Ev::Marks);
    h.advance_to(15_000);
    assert_eq!(h.spoken().last().map(String::as_str), Some("bye."));
    assert!(h.spoken().iter().any(|s| s == "Thanks for your time,"));
    h.at(15_100, Ev::Synth(1000)).at(16_200, Ev::Marks);
    assert_eq!(h.count("hang_up"), 1);
    assert_eq!(
        h.core.verdict().outcome(),
        Some(crate::call::outcome::ConversationOutcome::NoResponse)
    );
}
