//! Speculative generation: the LLM asked when the caller stops, its answer held until the
//! final confirms their words.

use super::*;

fn speculating() -> TurnConfig {
    TurnConfig {
        speculate: true,
        ..config()
    }
}

/// The greeting played; the caller says "my budget is 80 lakh" (an interim at 4.3 s) and
/// stops at 4.5 s: the answer is asked for then.
fn stopped() -> Vec<(u64, Ev)> {
    let mut s = greeted();
    s.extend([
        (4000, Ev::SpeechStarted),
        (4300, Ev::Interim("my budget is 80 lakh")),
        (4500, Ev::SpeechEnded),
    ]);
    s
}

/// When a `Generate` was given (ms), in order.
fn generated_at(h: &Harness) -> Vec<u64> {
    h.out
        .iter()
        .zip(&h.out_ms)
        .filter(|(c, _)| matches!(c, Command::Generate { .. }))
        .map(|(_, ms)| *ms)
        .collect()
}

#[test]
fn a_speculative_answer_is_heard_only_when_the_final_confirms_it() {
    use Ev::*;
    // (name, steps after `stopped()`, until, when each Generate was given, adopted, dropped,
    // what was spoken, when the first clause went to TTS)
    type Case = (
        &'static str,
        &'static [(u64, Ev)],
        u64,
        &'static [u64],
        usize,
        usize,
        &'static [&'static str],
        Option<u64>,
    );
    let cases: &[Case] = &[
        (
            "the final confirms the words: the held answer plays at once, one request",
            &[
                (4550, LlmText("Noted, 80 lakh. ")),
                (4580, LlmText("Which area? ")),
                (4590, LlmDone),
                (4600, Finalized("My budget is 80 lakh.")),
            ],
            4700,
            &[4500],
            1,
            0,
            &["Noted, 80 lakh.", "Which area?"],
            Some(4600),
        ),
        (
            "the final comes before the answer: it goes on streaming as the turn's",
            &[
                (4600, Finalized("my budget is 80 lakh")),
                (4700, LlmText("Noted. ")),
            ],
            4800,
            &[4500],
            1,
            0,
            &["Noted."],
            Some(4700),
        ),
        (
            "the final differs: cancelled unheard, asked again with the final",
            &[
                (4550, LlmText("Noted, 80. ")),
                (4600, Finalized("my budget is 80 lakh rupees")),
                (4800, LlmText("Noted, 80 lakh rupees. ")),
            ],
            4900,
            &[4500, 4600],
            0,
            1,
            &["Noted, 80 lakh rupees."],
            Some(4800),
        ),
        (
            "the caller goes on: dropped at once, asked again when they stop",
            &[
                (4550, LlmText("Noted. ")),
                (4700, SpeechStarted),
                (5000, Interim("my budget is 80 lakh in pune")),
                (5200, SpeechEnded),
                (5300, Finalized("my budget is 80 lakh in pune")),
                (5400, LlmText("Pune, noted. ")),
            ],
            5500,
            &[4500, 5200],
            1,
            1,
            &["Pune, noted."],
            Some(5400),
        ),
        (
            "a later interim with more words replaces it",
            &[
                (4550, LlmText("Noted. ")),
                (4600, Interim("my budget is 80 lakh only")),
                (4700, LlmText("Only 80, noted. ")),
                (4750, Finalized("my budget is 80 lakh only")),
            ],
            4800,
            &[4500, 4600],
            1,
            1,
            &["Only 80, noted."],
            Some(4750),
        ),
        (
            "the speculation fails: nothing heard, the final asks again",
            &[
                (4550, LlmFailed(ProviderErrorKind::Transient)),
                (4600, Finalized("my budget is 80 lakh")),
                (4700, LlmText("Noted. ")),
            ],
            4800,
            &[4500, 4600],
            0,
            1,
            &["Noted."],
            Some(4700),
        ),
        (
            "the call's time is up: dropped, the time-up line instead",
            &[(4550, LlmText("Noted. ")), (4600, TimeUp)],
            4700,
            &[4500],
            0,
            1,
            &[],
            None,
        ),
    ];
    for (name, steps, until, generates, adopted, dropped, spoken, first_clause) in cases {
        let mut script = stopped();
        script.extend(steps.iter().cloned());
        let h = Harness::script(speculating(), &script, *until);
        assert_eq!(generated_at(&h), *generates, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("adopted"), *adopted, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("dropped"), *dropped, "{name}: {:?}", h.kinds());
        // The greeting, then the answer: nothing of a dropped speculation is ever spoken.
        assert_eq!(&h.spoken()[2..], *spoken, "{name}");
        let first = spoken.first().and_then(|t| h.when_spoken(t));
        assert_eq!(first, *first_clause, "{name}");
        if *dropped > *adopted {
            // The LLM actor stops a dropped speculation (or the next request replaces it).
            assert!(
                h.count("cancel_generation") + generates.len() > 1,
                "{name}: {:?}",
                h.kinds()
            );
        }
    }
}

/// Tool calls of a speculation are held like its words: applied only once it is adopted,
/// never for words the caller did not end up saying.
#[test]
fn tool_calls_wait_for_the_final_too() {
    use Ev::*;
    let mut script = stopped();
    script.extend([
        (
            4550,
            LlmTool("record_lead_details", r#"{"budget":"80 lakh"}"#),
        ),
        (4560, LlmText("Which area? ")),
        (4570, LlmDone),
    ]);
    let h = Harness::script(speculating(), &script, 4590);
    assert_eq!(h.count("tools"), 0, "{:?}", h.kinds());
    assert!(h.spoken().len() == 2, "only the greeting: {:?}", h.spoken());

    let mut confirmed = script.clone();
    confirmed.push((4600, Finalized("my budget is 80 lakh")));
    let h = Harness::script(speculating(), &confirmed, 4700);
    assert_eq!(h.count("tools"), 1, "{:?}", h.kinds());
    assert_eq!(h.spoken()[2..], ["Which area?"]);

    let mut changed = script;
    changed.push((4600, Finalized("my budget is 18 lakh")));
    let h = Harness::script(speculating(), &changed, 4700);
    assert_eq!(h.count("tools"), 0, "{:?}", h.kinds());
    assert_eq!(h.count("generate"), 2);
}

/// The LLM's time is counted from when it was really asked: before the final.
#[test]
fn an_adopted_answer_counts_from_its_request() {
    use Ev::*;
    let mut script = stopped();
    script.extend([
        (4550, LlmText("Noted. ")),
        (4560, LlmDone),
        (4600, Finalized("my budget is 80 lakh")),
        (4650, Synth(500)),
        (5200, Marks),
    ]);
    let h = Harness::script(speculating(), &script, 6000);
    let latency = h.first_latency();
    assert_eq!(latency.final_transcript_ms, Some(100));
    assert_eq!(latency.llm_request_ms, Some(0));
    assert_eq!(latency.llm_first_token_ms, Some(50));
    assert_eq!(latency.first_clause_ms, Some(100));
}

/// Off (`LLM_SPECULATE=0`), the LLM is asked when the turn ends, as before.
#[test]
fn without_speculation_the_final_asks() {
    use Ev::*;
    let mut script = stopped();
    script.push((4600, Finalized("my budget is 80 lakh")));
    let h = Harness::script(config(), &script, 4700);
    assert_eq!(generated_at(&h), [4600]);
    assert_eq!(h.count("adopted") + h.count("dropped"), 0);
}
