//! The callee's "Hello?" does not cut the greeting.

use super::*;

#[test]
fn the_greeting_waits_for_the_hello_or_a_second_of_silence() {
    use Ev::*;
    let cases: &[(&str, &[(u64, Ev)], u64, bool)] = &[
        ("silent: not before 1 s", &[], 900, false),
        ("silent: greets at 1 s", &[], 1000, true),
        (
            "says Hello?: waits while they speak",
            &[(200, SpeechStarted)],
            2900,
            false,
        ),
        (
            "Hello? over: greets right after",
            &[(200, SpeechStarted), (700, SpeechEnded)],
            800,
            true,
        ),
        (
            "talks on: greets at the 3 s cap",
            &[(200, SpeechStarted)],
            3000,
            true,
        ),
    ];
    for (name, steps, until, greeted) in cases {
        let h = Harness::script(config(), steps, *until);
        assert_eq!(h.count("speak") > 0, *greeted, "{name}: {:?}", h.spoken());
    }
}

#[test]
fn the_hello_is_not_a_turn_and_short_speech_early_in_the_greeting_does_not_cut_it() {
    use Ev::*;
    // (name, steps after pick-up, holds, clears, the caller's turns recorded)
    let cases: &[(&str, &[(u64, Ev)], usize, usize, usize)] = &[
        (
            "the Hello?'s transcript arrives after the greeting started",
            &[
                (200, SpeechStarted),
                (700, SpeechEnded),
                (900, Synth(1500)),
                (1300, Interim("hello")),
                (1500, Final("Hello?", true)),
                (2000, UtteranceEnd),
            ],
            0,
            0,
            0,
        ),
        (
            "a second Hello? in the greeting's first second",
            &[
                (1000, Synth(1500)),
                (1300, SpeechStarted),
                (1900, SpeechEnded),
                (2200, Interim("hello")),
                (2400, Final("hello", true)),
            ],
            0,
            0,
            0,
        ),
        (
            "long speech in the first second holds, then its words cut",
            &[
                (1000, Synth(1500)),
                (1300, SpeechStarted),
                (2700, Interim("sorry I am driving right now")),
                (3000, SpeechEnded),
                (3100, Final("sorry I am driving right now", true)),
            ],
            1,
            1,
            1,
        ),
        (
            "speech after the first second holds as usual",
            &[
                (1000, Synth(1500)),
                (2100, SpeechStarted),
                (2700, Interim("who is this")),
                (2900, SpeechEnded),
                (3000, Final("who is this", true)),
            ],
            1,
            1,
            1,
        ),
    ];
    for (name, steps, holds, clears, turns) in cases {
        let h = Harness::script(config(), steps, 6000);
        assert_eq!(h.count("pause"), *holds, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("clear"), *clears, "{name}: {:?}", h.kinds());
        let callers = h.transcript().iter().filter(|t| t.0 == "user").count();
        assert_eq!(callers, *turns, "{name}: {:?}", h.transcript());
        if *clears == 0 {
            let greeting = &h.transcript()[0];
            assert!(greeting.1.starts_with("Hi Asha") && !greeting.2, "{name}");
        }
    }
}
