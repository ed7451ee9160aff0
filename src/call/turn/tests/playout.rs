//! A lost `mark` never wedges a turn: our playout clock ends it.

use super::*;

#[test]
fn a_turn_ends_by_mark_or_by_our_playout_clock() {
    use Ev::*;
    // The greeting's two clauses, 1.5 s each, queued at 1 s: played by 4 s; margin 0.75 s.
    // (name, steps, when to look, the greeting is over)
    let cases: &[(&str, &[(u64, Ev)], u64, bool)] = &[
        (
            "no marks: still playing at 4.7 s",
            &[(1000, Synth(1500))],
            4700,
            false,
        ),
        (
            "no marks: over at 4.75 s",
            &[(1000, Synth(1500))],
            4800,
            true,
        ),
        (
            "marks back: over at once",
            &[(1000, Synth(1500)), (4000, Marks)],
            4000,
            true,
        ),
        (
            "a 1.5 s hold plays the rest later: not over at 6.2 s",
            &[
                (1000, Synth(1500)),
                (2100, SpeechStarted),
                (2700, SpeechEnded),
            ],
            6200,
            false,
        ),
        (
            "a 1.5 s hold plays the rest later: over at 6.3 s",
            &[
                (1000, Synth(1500)),
                (2100, SpeechStarted),
                (2700, SpeechEnded),
            ],
            6300,
            true,
        ),
        (
            "audio that arrives slower than it plays: over when the last has played",
            &[(1000, SynthPart(500)), (3000, Synth(1500))],
            5200,
            false,
        ),
    ];
    for (name, steps, until, over) in cases {
        let h = Harness::script(config(), steps, *until);
        let ended = h.transcript().iter().any(|t| t.0 == "ai");
        assert_eq!(ended, *over, "{name}: {:?}", h.kinds());
    }
}
