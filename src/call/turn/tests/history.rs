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

/// Facts and the reply in one response: the words are spoken while the tool is applied, and
/// the LLM is not asked again. A tool call alone costs a second round, and the turn says so.
#[test]
fn tool_and_text_in_one_round_are_recorded_and_spoken() {
    use Ev::*;
    let record = r#"{"budget":"80 lakh"}"#;
    // (name, steps after the caller's "yes", generations, LLM rounds of the turn)
    let cases: &[(&str, &[(u64, Ev)], usize, u64)] = &[
        (
            "text and tool in one response: one round",
            &[
                (5200, LlmTool("record_lead_details", record)),
                (5210, LlmText("Noted. Which area? ")),
                (5220, LlmDone),
                (5300, Synth(800)),
                (6200, Marks),
            ],
            1,
            1,
        ),
        (
            "a tool call alone: asked again with its result, two rounds",
            &[
                (5200, LlmTool("record_lead_details", record)),
                (5220, LlmDone),
                (5700, LlmText("Noted. Which area? ")),
                (5720, LlmDone),
                (5800, Synth(800)),
                (6700, Marks),
            ],
            2,
            2,
        ),
    ];
    for (name, extra, generations, rounds) in cases {
        let mut steps = answered();
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, 7500);
        assert_eq!(h.count("generate"), *generations, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("tools"), 1, "{name}: {:?}", h.kinds());
        assert_eq!(h.spoken()[2..], ["Noted.", "Which area?"], "{name}");
        // The tool call goes into the history before its result, the words once heard.
        let history = h.core.history();
        let call = history.iter().position(|m| !m.tool_calls.is_empty());
        let result = history.iter().position(|m| m.role == "tool");
        assert!(call.is_some() && call < result, "{name}: {history:?}");
        assert_eq!(
            assistant(history).last().map(String::as_str),
            Some("Noted. Which area?"),
            "{name}"
        );
        let latency = h.first_latency();
        assert_eq!(latency.llm_rounds, Some(*rounds as u32), "{name}");
    }
}
