//! The LLM history holds what the caller heard.

use super::*;
use crate::providers::openai::ChatMessage;

fn assistant(history: &[ChatMessage]) -> Vec<String> {
    history
        .iter()
        .filter(|m| m.role == "assistant")
        .filter_map(|m| m.content.clone())
        .collect()
}

#[test]
fn one_assistant_message_per_turn_as_heard() {
    use Ev::*;
    let greeting = "Hi Asha, this is Priya from Acme Homes. Are you looking for a flat?";
    let answer = "Which property type are you looking for? A flat or a villa?";
    // (name, steps after the caller's "yes", assistant messages afterwards)
    let cases: &[(&str, &[(u64, Ev)], &[&str])] = &[
        (
            "played in full: the whole answer, once",
            &[
                (5200, LlmText("Which property type are you looking for? ")),
                (5250, LlmText("A flat or a villa?")),
                (5280, LlmDone),
                (5300, Synth(1000)),
            ],
            &[greeting, answer],
        ),
        (
            "cut by a barge-in: only what was heard, once",
            &[
                (5200, LlmText("Which property type are you looking for? ")),
                (5250, LlmText("A flat or a villa?")),
                (5280, LlmDone),
                (5300, Synth(3000)),
                (6300, SpeechStarted),
                (7300, Interim("no wait I want")),
            ],
            &[greeting, "Which property"],
        ),
        (
            "cut before any audio: nothing",
            &[
                (5200, LlmText("Which property type are you looking for? ")),
                (5300, Interim("hello hello")),
            ],
            &[greeting],
        ),
    ];
    for (name, extra, want) in cases {
        let mut steps = answered();
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, 9000);
        assert_eq!(assistant(h.core.history()), *want, "{name}");
    }
}

#[test]
fn a_retried_generation_never_repeats_what_was_said() {
    use Ev::*;
    let mut steps = answered();
    steps.extend([
        (5200, LlmText("Which property type are you looking for? ")),
        (5300, Synth(1000)),
        (5400, LlmFailed(ProviderErrorKind::Transient)),
        // The retry (after the backoff) says it all again; the first clause is not repeated.
        (6000, LlmText("Which property type are you looking for? ")),
        (6050, LlmText("A flat or a villa?")),
        (6100, LlmDone),
        (6200, Synth(1000)),
    ]);
    let h = Harness::script(config(), &steps, 10_000);
    let spoken = h.spoken();
    let asked = |t: &str| spoken.iter().filter(|s| s.as_str() == t).count();
    assert_eq!(
        asked("Which property type are you looking for?"),
        1,
        "{spoken:?}"
    );
    assert_eq!(asked("A flat or a villa?"), 1, "{spoken:?}");
    assert_eq!(h.count("generate"), 2);
    // The retry was told what had been said.
    let retry = h
        .out
        .iter()
        .filter_map(|c| match c {
            Command::Generate { messages, .. } => Some(messages.clone()),
            _ => None,
        })
        .nth(1)
        .unwrap();
    let last = retry.last().unwrap();
    assert_eq!(last.role, "assistant");
    assert_eq!(
        last.content.as_deref(),
        Some("Which property type are you looking for?")
    );
    assert_eq!(
        assistant(h.core.history()).last().map(String::as_str),
        Some("Which property type are you looking for? A flat or a villa?")
    );
}

#[test]
fn a_hang_up_mid_sentence_records_what_was_heard_and_saves() {
    use Ev::*;
    let mut steps = answered();
    steps.extend([
        (5200, LlmText("Which property type are you looking for? ")),
        (5300, Synth(3000)),
        (6700, Final("and", false)),
        (6700, Closed),
    ]);
    let h = Harness::script(config(), &steps, 7000);
    let t = h.transcript();
    let cut = &t[t.len() - 2];
    assert_eq!(
        (cut.0.as_str(), cut.1.as_str(), cut.2),
        ("ai", "Which property", true)
    );
    // Words not yet answered are kept as the caller's last turn.
    assert_eq!(t.last().unwrap().1, "and");
    assert_eq!(h.count("save"), 1);
    // Nothing happens after the end.
    assert_eq!(h.kinds().last(), Some(&"save"));
}
