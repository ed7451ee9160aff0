//! The hand-off line (`transfer_to_human`): said in full after whatever the model said, and
//! the call hangs up (closes its stream, so Exotel's flow moves on) only once it has played.

use super::*;

const LINE: &str = "Connecting you to Priya from our sales team, one moment.";

/// The caller asked for a person; the model answers `text` (maybe none) with the tool, the
/// audio comes 300 ms later (1 s per clause); the clock then runs to `until`.
fn handed_over(text: Option<&'static str>, until: u64) -> Harness {
    use Ev::*;
    let mut h = Harness::new(config());
    h.handoff_line = Some(LINE.into());
    let mut steps = answered();
    if let Some(text) = text {
        steps.push((5200, LlmText(text)));
    }
    steps.extend([
        (5250, LlmTool("transfer_to_human", "{}")),
        (5280, LlmDone),
        (5600, Synth(1000)),
    ]);
    for (ms, ev) in steps {
        h.at(ms, ev);
    }
    h.advance_to(until);
    h
}

#[test]
fn the_line_is_said_in_full_before_the_hang_up() {
    // (name, what the model said, the agent's words recorded)
    let cases: &[(&str, Option<&'static str>, &str)] = &[
        (
            "the tool alone: the line alone, not the goodbye",
            None,
            LINE,
        ),
        (
            "words with the tool: the line after them",
            Some("Sure. "),
            "Sure. Connecting you to Priya from our sales team, one moment.",
        ),
    ];
    for (name, text, recorded) in cases {
        let spoken = handed_over(*text, 6000).spoken();
        assert!(
            spoken.iter().any(|s| LINE.contains(s.trim())),
            "{name}: {spoken:?}"
        );
        assert!(
            !spoken.iter().any(|s| s.contains("Bye")),
            "{name}: {spoken:?}"
        );
        // Still playing: no hang-up yet (the audio runs from 5.6 s, a second per clause).
        let early = handed_over(*text, 6500);
        assert_eq!(early.count("hang_up"), 0, "{name}: {:?}", early.kinds());
        // Played out (by the playout clock, no marks): recorded whole, then the hang-up.
        let done = handed_over(*text, 12_000);
        assert_eq!(done.count("hang_up"), 1, "{name}: {:?}", done.kinds());
        let agent: Vec<String> = done
            .transcript()
            .into_iter()
            .filter(|(who, _, _)| who == "ai")
            .map(|(_, words, interrupted)| {
                assert!(!interrupted, "{name}");
                words
            })
            .collect();
        assert_eq!(
            agent.last().map(String::as_str),
            Some(*recorded),
            "{name}: {agent:?}"
        );
    }
}
