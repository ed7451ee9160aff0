//! Speech over the agent holds it; words clear it; a back-channel or noise resumes it.

use super::*;

/// The agent answers at 5.3 s with two clauses of 3 s each (audio until 11.3 s).
fn speaking() -> Vec<(u64, Ev)> {
    speaking_after(&[])
}

/// As `speaking`, with `before` scripted before the agent's audio starts.
fn speaking_after(before: &[(u64, Ev)]) -> Vec<(u64, Ev)> {
    let mut s = answered();
    s.extend(before.iter().cloned());
    s.extend([
        (
            5200,
            Ev::LlmText("Which property type are you looking for? "),
        ),
        (5250, Ev::LlmText("A flat or a villa?")),
        (5280, Ev::LlmDone),
        (5300, Ev::Synth(3000)),
    ]);
    s
}

#[test]
fn hold_then_resume_or_clear() {
    use Ev::*;
    // (name, steps over the agent, holds, resumes, clears)
    let cases: &[(&str, &[(u64, Ev)], usize, usize, usize)] = &[
        (
            "a back-channel: held, then resumed when the interim shows it",
            &[
                (6000, SpeechStarted),
                (6600, SpeechEnded),
                (6900, Interim("haan ji")),
                (7000, Final("haan ji", true)),
            ],
            1,
            1,
            0,
        ),
        (
            "words: held, then cleared when the interim shows them",
            &[(6000, SpeechStarted), (6800, Interim("no wait I want"))],
            1,
            0,
            1,
        ),
        (
            "noise: held, resumed when no words come within the hold timeout",
            &[(6000, SpeechStarted), (6500, SpeechEnded)],
            1,
            1,
            0,
        ),
        (
            "a short sound never holds",
            &[(6000, SpeechStarted), (6300, SpeechEnded)],
            0,
            0,
            0,
        ),
        (
            "sound that began before the agent's audio does not hold (it takes the unheard answer back)",
            &[(6200, SpeechEnded)],
            0,
            0,
            0,
        ),
        (
            "words without a hold (a quiet line) still cut",
            &[(7000, Interim("stop please"))],
            0,
            0,
            1,
        ),
    ];
    for (name, extra, holds, resumes, clears) in cases {
        let mut steps = if name.contains("before the agent") {
            speaking_after(&[(5100, SpeechStarted)])
        } else {
            speaking()
        };
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, 10_000);
        assert_eq!(h.count("pause"), *holds, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("resume"), *resumes, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("clear"), *clears, "{name}: {:?}", h.kinds());
        let cut = h.transcript().iter().any(|t| t.2);
        assert_eq!(cut, *clears > 0, "{name}: {:?}", h.transcript());
    }
}

#[test]
fn a_barge_in_is_cut_where_the_caller_stopped_hearing() {
    use Ev::*;
    let mut steps = speaking();
    // Held at 6.7 s: 1.4 s into "Which property type are you looking for?" (3 s long):
    // 18 of its 40 characters, cut back to a whole word.
    steps.extend([(6300, SpeechStarted), (7300, Interim("no wait I want"))]);
    let h = Harness::script(config(), &steps, 8000);
    let cut: Vec<_> = h.transcript().into_iter().filter(|t| t.2).collect();
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].1, "Which property", "{cut:?}");
}
