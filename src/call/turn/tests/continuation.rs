//! `Finalize` on our VAD's silence, and a caller who was not finished.

use super::*;

/// The greeting played; the caller says "my budget is", stops at 4.5 s, and the answer to
/// `Finalize` comes at 4.6 s.
fn paused() -> Vec<(u64, Ev)> {
    let mut s = greeted();
    s.extend([
        (4000, Ev::SpeechStarted),
        (4500, Ev::SpeechEnded),
        (4600, Ev::Finalized("my budget is")),
    ]);
    s
}

/// The caller entries of the transcript after take-backs, as the `CallActor` keeps them.
fn caller_turns(h: &Harness) -> Vec<String> {
    let mut turns = Vec::new();
    for c in &h.out {
        match c {
            Command::Record {
                speaker: crate::call::transcript::Speaker::Caller,
                text,
                ..
            } => turns.push(text.clone()),
            Command::TakeBackCallerTurn => {
                turns.pop();
            }
            _ => {}
        }
    }
    turns
}

fn agent_turns(h: &Harness) -> Vec<(String, bool)> {
    h.transcript()
        .into_iter()
        .filter(|(who, ..)| who == "ai")
        .map(|(_, text, interrupted)| (text, interrupted))
        .collect()
}

#[test]
fn a_caller_who_goes_on_continues_their_turn() {
    use Ev::*;
    // (name, steps after `paused()`, until, generations, take-backs, caller turns, the
    // agent's last entry and whether it was interrupted)
    type Case = (
        &'static str,
        &'static [(u64, Ev)],
        u64,
        usize,
        usize,
        &'static [&'static str],
        Option<(&'static str, bool)>,
    );
    let cases: &[Case] = &[
        (
            "the final flushed by Finalize ends the turn: answered at once",
            &[
                (4800, LlmText("Noted. ")),
                (4850, LlmDone),
                (4900, Synth(600)),
                (5600, Marks),
            ],
            6500,
            1,
            0,
            &["my budget is"],
            Some(("Noted.", false)),
        ),
        (
            "goes on before hearing the answer: taken back, one turn",
            &[
                (4800, LlmText("Noted. ")),
                (5200, SpeechStarted),
                (5800, SpeechEnded),
                (5900, Finalized("80 lakh")),
            ],
            6500,
            2,
            1,
            &["my budget is 80 lakh"],
            None,
        ),
        (
            "goes on just after the answer began: cleared, taken back, one turn",
            &[
                (4800, LlmText("Noted. ")),
                (4900, Synth(2000)),
                (5200, SpeechStarted),
                (5800, Interim("80 lakh")),
                (6000, SpeechEnded),
                (6100, Finalized("80 lakh")),
            ],
            6500,
            2,
            1,
            &["my budget is 80 lakh"],
            None,
        ),
        (
            "a breath whose frames came late (750 ms of audio, seen 1.1 s on): one turn",
            &[
                (4800, LlmText("Noted. ")),
                (4900, Synth(2000)),
                (5600, SpeechStartedAfter(750)),
                (6200, Interim("80 lakh")),
                (6400, SpeechEnded),
                (6500, Finalized("80 lakh")),
            ],
            7000,
            2,
            1,
            &["my budget is 80 lakh"],
            None,
        ),
        (
            "a pause by the audio (1.2 s), however soon it is seen: a barge-in",
            &[
                (4800, LlmText("Noted. What else? ")),
                (4850, LlmDone),
                (4900, Synth(4000)),
                (5450, SpeechStartedAfter(1200)),
                (6100, Interim("wait stop")),
            ],
            6500,
            1,
            0,
            &["my budget is"],
            Some(("Noted.", true)),
        ),
        (
            "interrupts well after their words: a barge-in, the answer kept as heard",
            &[
                (4800, LlmText("Noted. What else? ")),
                (4850, LlmDone),
                (4900, Synth(4000)),
                (6500, SpeechStarted),
                (7100, Interim("wait stop")),
            ],
            7500,
            1,
            0,
            &["my budget is"],
            Some(("Noted.", true)),
        ),
        (
            "a flushed final while the caller still speaks does not end the turn",
            &[(5000, SpeechStarted), (5100, Finalized(""))],
            5600,
            1,
            1,
            &[],
            None,
        ),
    ];
    for (name, extra, until, generations, taken_back, callers, agent_last) in cases {
        let mut steps = paused();
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, *until);
        assert_eq!(h.count("generate"), *generations, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("take_back"), *taken_back, "{name}: {:?}", h.kinds());
        assert_eq!(h.core.answers_taken_back() as usize, *taken_back, "{name}");
        assert_eq!(caller_turns(&h), *callers, "{name}: {:?}", h.transcript());
        let last = agent_turns(&h).into_iter().last();
        let expected = agent_last.map(|(t, i)| (t.to_string(), i));
        match &expected {
            // The greeting is the agent's only entry when the answer was taken back.
            None => assert!(
                last.as_ref().is_some_and(|(t, _)| t.starts_with("Hi Asha")),
                "{name}: {:?}",
                h.transcript()
            ),
            // Cut where the caller stopped hearing it: a prefix of what was said.
            Some((text, interrupted)) => assert!(
                last.as_ref().is_some_and(|(t, i)| i == interrupted
                    && !t.is_empty()
                    && text.starts_with(t.as_str())),
                "{name}: {:?}",
                h.transcript()
            ),
        }
        // The LLM hears the caller's words once, as one message.
        let users: Vec<_> = h
            .core
            .history
            .iter()
            .filter(|m| m.role == "user")
            .filter_map(|m| m.content.clone())
            .collect();
        assert_eq!(users, *callers, "{name}");
    }
}

#[test]
fn finalize_is_asked_when_the_caller_stops_in_their_turn_only() {
    use Ev::*;
    let h = Harness::script(config(), &paused(), 4700);
    assert_eq!(h.count("finalize"), 1, "{:?}", h.kinds());
    // Not while the agent talks (a "haan ji" over it), nor when turned off.
    let h = Harness::script(
        config(),
        &[(1000, SpeechStarted), (1500, SpeechEnded)],
        2000,
    );
    assert_eq!(h.count("finalize"), 0, "{:?}", h.kinds());
    let mut off = config();
    off.finalize_on_silence = false;
    let h = Harness::script(off, &paused(), 4700);
    assert_eq!(h.count("finalize"), 0, "{:?}", h.kinds());
}

/// The answer became audible just before the caller went on, and their words are short (no
/// hold, under the barge-in threshold): they still continue the turn, never dropped.
#[test]
fn short_words_just_after_the_answer_began_continue_the_turn() {
    use Ev::*;
    let mut steps = paused();
    steps.extend([
        (4800, LlmText("Noted. ")),
        (4850, LlmDone),
        (4900, Synth(2000)),
        (5100, SpeechStarted),
        (5400, SpeechEnded),
        (5500, Finalized("80 lakh")),
    ]);
    let h = Harness::script(config(), &steps, 6000);
    assert_eq!(
        caller_turns(&h),
        ["my budget is 80 lakh"],
        "{:?}",
        h.kinds()
    );
    assert_eq!(h.count("take_back"), 1, "{:?}", h.kinds());
    assert_eq!(h.count("clear"), 1, "{:?}", h.kinds());
}

/// A short answer ("Sure.") plays out during the caller's breath, and their words come after
/// its end: they went on over it, so it is taken back all the same, one turn. A caller who
/// starts after the answer ended heard it whole: a new turn.
#[test]
fn a_short_answer_played_out_over_the_breath_is_taken_back_too() {
    use Ev::*;
    // (name, when the caller goes on, caller turns, take-backs)
    let cases: &[(&str, u64, &[&str], usize)] = &[
        (
            "went on while it played",
            5150,
            &["my budget is 80 lakh"],
            1,
        ),
        (
            "went on after it ended",
            5400,
            &["my budget is", "80 lakh"],
            0,
        ),
    ];
    for (name, resumed, callers, taken_back) in cases {
        let mut steps = paused();
        steps.extend([
            (4800, LlmText("Sure. ")),
            (4850, LlmDone),
            (4900, Synth(300)),
            (*resumed, SpeechStarted),
            (5300, Marks),
            (6000, Interim("80 lakh")),
            (6200, SpeechEnded),
            (6300, Finalized("80 lakh")),
        ]);
        steps.sort_by_key(|(ms, _)| *ms);
        let h = Harness::script(config(), &steps, 7000);
        assert_eq!(caller_turns(&h), *callers, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("take_back"), *taken_back, "{name}: {:?}", h.kinds());
    }
}

/// The recogniser's own end of turn ("my budget is", `speech_final`) can come after the
/// caller went on from a breath: the answer to `Finalize` had nothing yet, or the final was
/// slow (a tail of the provider's latency). Words the caller has already gone on from do not
/// end their turn; the end of the speech that follows does. After a real pause, or with no
/// new speech, the recogniser's end of turn is the end, as before.
#[test]
fn an_end_of_turn_for_words_the_caller_went_on_from_waits_for_the_rest() {
    use Ev::*;
    // (name, steps after the greeting, until, caller turns, when the LLM was first asked)
    type Case = (
        &'static str,
        &'static [(u64, Ev)],
        u64,
        &'static [&'static str],
        Option<u64>,
    );
    let cases: &[Case] = &[
        (
            "went on 760 ms after the words, the end of turn came 30 ms later: one turn",
            &[
                (4000, SpeechStarted),
                (4500, SpeechEnded),
                (4600, Finalized("")),
                (5260, SpeechStarted),
                (5290, Final("my budget is", true)),
                (5750, Interim("80 l")),
                (6060, SpeechEnded),
                (6150, Finalized("80 lakh")),
            ],
            7000,
            &["my budget is 80 lakh"],
            Some(6150),
        ),
        (
            "the same, the rest's own end of turn coming before the answer to Finalize",
            &[
                (4000, SpeechStarted),
                (4500, SpeechEnded),
                (4600, Finalized("")),
                (5260, SpeechStarted),
                (5290, Final("my budget is", true)),
                (6060, SpeechEnded),
                (6100, Final("80 lakh", true)),
                (6150, Finalized("")),
            ],
            7000,
            &["my budget is 80 lakh"],
            Some(6100),
        ),
        (
            "the end of turn comes while the caller still speaks after a long silence: ended",
            &[
                (4000, SpeechStarted),
                (4900, Final("my budget is 80 lakh", true)),
                (5000, SpeechEnded),
            ],
            6000,
            &["my budget is 80 lakh"],
            Some(4900),
        ),
        (
            "went on after a real pause (1.2 s): the end of turn ends the turn",
            &[
                (4000, SpeechStarted),
                (4500, SpeechEnded),
                (4600, Finalized("")),
                (5700, SpeechStarted),
                (5750, Final("my budget is", true)),
            ],
            6000,
            &["my budget is"],
            Some(5750),
        ),
        (
            "went on, and the line stays loud: Deepgram's UtteranceEnd ends the turn",
            &[
                (4000, SpeechStarted),
                (4500, SpeechEnded),
                (4600, Finalized("")),
                (5260, SpeechStarted),
                (5290, Final("my budget is", true)),
                (6400, UtteranceEnd),
            ],
            7000,
            &["my budget is"],
            Some(6400),
        ),
    ];
    for (name, extra, until, callers, asked_at) in cases {
        let mut steps = greeted();
        steps.extend(extra.iter().cloned());
        let h = Harness::script(config(), &steps, *until);
        assert_eq!(caller_turns(&h), *callers, "{name}: {:?}", h.kinds());
        assert_eq!(h.count("take_back"), 0, "{name}: {:?}", h.kinds());
        let first_generate = h
            .out
            .iter()
            .zip(&h.out_ms)
            .find(|(c, _)| matches!(c, Command::Generate { .. }))
            .map(|(_, ms)| *ms);
        assert_eq!(first_generate, *asked_at, "{name}: {:?}", h.kinds());
    }
}
