//! A machine answered: wait for the beep, leave the message, hang up.

use super::*;
use crate::call::machine_detection::AnsweredBy;
use crate::call::outcome::ConversationOutcome;

const MESSAGE: &str = "Hi, this is Priya from Acme Homes, please call us back.";

#[test]
fn on_a_machine_the_message_follows_the_beep() {
    use Ev::*;
    let machine = Machine(MachineEvent::Decided(AnsweredBy::Machine));
    // (name, steps, when the message is asked for (None: never), hang-ups by the end)
    let cases: &[(&str, &[(u64, Ev)], Option<u64>, bool)] = &[
        (
            "decided during the greeting: cut, then the message at the beep",
            &[
                (200, SpeechStarted),
                (1000, Synth(1500)),
                (1500, machine.clone()),
                (6000, Machine(MachineEvent::Beep)),
            ],
            Some(6000),
            true,
        ),
        (
            "no beep: 2 s after the machine went quiet",
            &[
                (200, SpeechStarted),
                (1500, machine.clone()),
                (7000, SpeechEnded),
            ],
            Some(9000),
            true,
        ),
        (
            "never quiet, no beep: at the 20 s cap",
            &[(200, SpeechStarted), (1500, machine.clone())],
            Some(21_500),
            true,
        ),
        (
            "a person: nothing changes",
            &[(1500, Machine(MachineEvent::Decided(AnsweredBy::Human)))],
            None,
            false,
        ),
    ];
    for (name, steps, message_at, hung_up) in cases {
        let mut h = Harness::new(config());
        for (ms, ev) in steps.iter() {
            h.at(*ms, ev.clone());
        }
        h.advance_to(25_000);
        let asked = h.when_spoken("please call");
        assert_eq!(asked, *message_at, "{name}: {:?}", h.spoken());
        let at = h.now_ms + 100;
        h.at(at, Synth(2000)).at(at + 2100, Marks);
        assert_eq!(h.count("hang_up") > 0, *hung_up, "{name}: {:?}", h.kinds());
        if *hung_up {
            assert_eq!(
                h.core.verdict().outcome(),
                Some(ConversationOutcome::Voicemail)
            );
            // What the machine said is not a turn; the LLM was never asked.
            assert_eq!(h.count("generate"), 0, "{name}");
            assert!(h.transcript().iter().any(|t| t.1 == MESSAGE), "{name}");
        }
    }
}

#[test]
fn without_a_message_the_call_hangs_up_at_the_beep() {
    let mut cfg = config();
    cfg.lines.voicemail_message = None;
    let steps = [
        (1000, Ev::Synth(1500)),
        (
            1500,
            Ev::Machine(MachineEvent::Decided(AnsweredBy::Machine)),
        ),
        (
            2000,
            Ev::Final("please leave a message after the tone", true),
        ),
        (4000, Ev::Machine(MachineEvent::Beep)),
    ];
    let h = Harness::script(cfg, &steps, 4100);
    assert_eq!(h.count("clear"), 1);
    assert_eq!(h.count("hang_up"), 1);
    assert_eq!(h.count("generate"), 0);
    assert_eq!(
        h.core.verdict().outcome(),
        Some(ConversationOutcome::Voicemail)
    );
}
