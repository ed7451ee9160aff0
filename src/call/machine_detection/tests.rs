//! Table-driven tests of the detector on synthesized audio and transcripts, on a fake clock.

use std::time::{Duration, Instant};

use super::*;
use crate::sandbox::voice_codec;

fn playbook(file: &str) -> Playbook {
    Playbook::load(std::path::Path::new(file)).unwrap()
}

/// What the caller's side of the line does, in order.
#[derive(Debug, Clone)]
enum Line {
    Silence(u32),
    /// A pure tone: Hz, ms.
    Tone(f32, u32),
    /// The sandbox voice saying the text (speech-like: dense, two-tone, with tiny gaps).
    Speech(&'static str),
    /// Deterministic white noise: ms.
    Noise(u32),
    /// A transcript arriving now: text, is_final.
    Transcript(&'static str, bool),
}

fn tone(hz: f32, rate: u32, ms: u32) -> Vec<i16> {
    (0..rate * ms / 1000)
        .map(|i| (9000.0 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin()) as i16)
        .collect()
}

fn noise(rate: u32, ms: u32) -> Vec<i16> {
    let mut seed = 42u32;
    (0..rate * ms / 1000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ((seed >> 16) % 8000) as i16 - 4000
        })
        .collect()
}

/// Plays `script` into a detector in 100 ms chunks (Exotel's pace), ticking the clock with the
/// audio, and returns every event with the audio time (ms) it came at.
fn run(file: &str, rate: u32, script: &[Line]) -> (Vec<(u64, MachineEvent)>, MachineDetector) {
    let start = Instant::now();
    let mut detector = MachineDetector::new(&playbook(file), rate, start);
    let mut events = Vec::new();
    let mut ms = 0u64;
    let chunk = rate as usize / 10;
    for line in script {
        let audio = match line {
            Line::Silence(len) => vec![0; (rate * len / 1000) as usize],
            Line::Tone(hz, len) => tone(*hz, rate, *len),
            Line::Speech(text) => voice_codec::encode(text, rate),
            Line::Noise(len) => noise(rate, *len),
            Line::Transcript(text, is_final) => {
                let now = start + Duration::from_millis(ms);
                events.extend(
                    detector
                        .push_transcript(text, *is_final, now)
                        .map(|e| (ms, e)),
                );
                continue;
            }
        };
        for piece in audio.chunks(chunk) {
            ms += (piece.len() as u64 * 1000) / rate as u64;
            let now = start + Duration::from_millis(ms);
            let mut event = detector.push_audio(piece, now);
            while let Some(e) = event {
                events.push((ms, e));
                event = detector.poll_event();
            }
            events.extend(detector.tick(now).map(|e| (ms, e)));
        }
    }
    (events, detector)
}

const EN: &str = "playbooks/real_estate_en.yaml";
const HI: &str = "playbooks/real_estate_hinglish.yaml";

const MACHINE: Option<AnsweredBy> = Some(AnsweredBy::Machine);
const HUMAN: Option<AnsweredBy> = Some(AnsweredBy::Human);

#[test]
fn verdicts() {
    use Line::*;
    let greeting = "hi, you have reached the voicemail of ravi kumar. i cannot take your call right now, please leave a message after the beep.";
    type Case = (
        &'static str,
        &'static str,
        u32,
        Vec<Line>,
        Option<AnsweredBy>,
        Option<Reason>,
        bool,
    );
    let cases: Vec<Case> = vec![
        // name, playbook, rate, script, verdict, reason, beep reported
        (
            "hello then silence",
            EN,
            8000,
            vec![Silence(300), Speech("hello?"), Silence(3000)],
            HUMAN,
            Some(Reason::ShortGreeting),
            false,
        ),
        (
            "hello then silence 16k",
            EN,
            16000,
            vec![Speech("hello?"), Silence(3000)],
            HUMAN,
            Some(Reason::ShortGreeting),
            false,
        ),
        (
            "two hellos with a short pause",
            EN,
            8000,
            vec![
                Speech("hello?"),
                Silence(500),
                Speech("hello?"),
                Silence(2000),
            ],
            HUMAN,
            Some(Reason::ShortGreeting),
            false,
        ),
        (
            "long greeting, no transcript",
            EN,
            8000,
            vec![Silence(200), Speech(greeting), Silence(1000)],
            MACHINE,
            Some(Reason::LongGreeting),
            false,
        ),
        (
            "long greeting 16k",
            EN,
            16000,
            vec![Speech(greeting)],
            MACHINE,
            Some(Reason::LongGreeting),
            false,
        ),
        (
            "phrase in an interim",
            EN,
            8000,
            vec![
                Speech("hi, you"),
                Transcript("Hi, you've reached", false),
                Silence(100),
            ],
            MACHINE,
            Some(Reason::Phrase),
            false,
        ),
        (
            "phrase split over two finals",
            EN,
            8000,
            vec![
                Transcript("The number you", true),
                Transcript("have dialled is not reachable.", true),
            ],
            MACHINE,
            Some(Reason::Phrase),
            false,
        ),
        (
            "hindi carrier announcement",
            HI,
            8000,
            vec![Transcript("aap jis number par call kar rahe hai", false)],
            MACHINE,
            Some(Reason::Phrase),
            false,
        ),
        (
            "hindi carrier, other spelling",
            HI,
            8000,
            vec![Transcript("Krupya thodi der bad call karen.", true)],
            MACHINE,
            Some(Reason::Phrase),
            false,
        ),
        (
            "english carrier",
            HI,
            8000,
            vec![Transcript(
                "The number you are trying to reach is switched off",
                true,
            )],
            MACHINE,
            Some(Reason::Phrase),
            false,
        ),
        (
            "silence only",
            EN,
            8000,
            vec![Silence(7000)],
            HUMAN,
            Some(Reason::WindowClosed),
            false,
        ),
        (
            "human words, no phrase",
            EN,
            8000,
            vec![Transcript("Hello, who is this?", true), Silence(7000)],
            HUMAN,
            Some(Reason::WindowClosed),
            false,
        ),
        (
            "greeting then beep (phrase first)",
            EN,
            8000,
            vec![
                Speech("hi, please"),
                Transcript("hi, please leave a message", false),
                Silence(400),
                Tone(1000.0, 400),
                Silence(500),
            ],
            MACHINE,
            Some(Reason::Phrase),
            true,
        ),
        (
            "beep alone",
            EN,
            8000,
            vec![Silence(500), Tone(1400.0, 300), Silence(500)],
            MACHINE,
            Some(Reason::Beep),
            true,
        ),
        (
            "beep 440 Hz at 16 kHz",
            EN,
            16000,
            vec![Silence(500), Tone(440.0, 250), Silence(500)],
            MACHINE,
            Some(Reason::Beep),
            true,
        ),
        (
            "beep 1950 Hz at 8 kHz",
            EN,
            8000,
            vec![Tone(1950.0, 200), Silence(300)],
            MACHINE,
            Some(Reason::Beep),
            true,
        ),
        (
            "beep after a long greeting",
            EN,
            8000,
            vec![
                Speech(greeting),
                Silence(300),
                Tone(850.0, 500),
                Silence(500),
            ],
            MACHINE,
            Some(Reason::LongGreeting),
            true,
        ),
        // Too short for a beep (a click, a DTMF-like blip), and a tone is not speech: nothing
        // happens until the window closes on a person.
        (
            "blip is not a beep",
            EN,
            8000,
            vec![Tone(1000.0, 80), Silence(7000)],
            HUMAN,
            Some(Reason::WindowClosed),
            false,
        ),
        // Noise is not a beep (1 s of it reads as a short utterance).
        (
            "noise is not a beep",
            EN,
            8000,
            vec![Noise(1000), Silence(2000)],
            HUMAN,
            Some(Reason::ShortGreeting),
            false,
        ),
        (
            "noise 16k is not a beep",
            EN,
            16000,
            vec![Noise(1500), Silence(2000)],
            HUMAN,
            Some(Reason::ShortGreeting),
            false,
        ),
        // A tone outside the band (a dial tone's 400 Hz is in; 300 Hz is out).
        (
            "low hum is not a beep",
            EN,
            8000,
            vec![Tone(300.0, 600), Silence(2000)],
            HUMAN,
            Some(Reason::ShortGreeting),
            false,
        ),
    ];
    for (name, file, rate, script, verdict, reason, beep) in cases {
        let (events, detector) = run(file, rate, &script);
        assert_eq!(detector.verdict(), verdict, "{name}: {events:?}");
        assert_eq!(detector.reason(), reason, "{name}");
        let decided: Vec<_> = events
            .iter()
            .filter(|(_, e)| matches!(e, MachineEvent::Decided(_)))
            .collect();
        assert_eq!(
            decided.len(),
            1,
            "{name}: one verdict, given once: {events:?}"
        );
        let beeps = events
            .iter()
            .filter(|(_, e)| *e == MachineEvent::Beep)
            .count();
        assert_eq!(beeps, usize::from(beep), "{name}: {events:?}");
    }
}

#[test]
fn the_verdict_comes_within_the_window() {
    // The slowest rules: the long greeting (4 s of speech) and the closing window (6 s).
    let greeting = "this is a very long machine greeting that goes on and on without a pause at all, for many many seconds";
    let (events, _) = run(EN, 8000, &[Line::Speech(greeting)]);
    let (at, event) = events[0];
    assert_eq!(event, MachineEvent::Decided(AnsweredBy::Machine));
    assert!((4000..=4300).contains(&at), "{at}");
    let (events, _) = run(EN, 8000, &[Line::Silence(8000)]);
    assert_eq!(
        events,
        vec![(6000, MachineEvent::Decided(AnsweredBy::Human))]
    );
}

#[test]
fn the_beep_is_reported_when_it_ends() {
    let (events, _) = run(
        EN,
        8000,
        &[
            Line::Silence(1000),
            Line::Tone(1000.0, 500),
            Line::Silence(1000),
        ],
    );
    assert_eq!(events[0].1, MachineEvent::Decided(AnsweredBy::Machine));
    let (at, event) = events[1];
    assert_eq!(event, MachineEvent::Beep);
    assert!(
        (1500..=1600).contains(&at),
        "beep ends at 1.5 s, reported at {at}"
    );
}

#[test]
fn a_person_saying_leave_a_message_later_changes_nothing() {
    let start = Instant::now();
    let mut detector = MachineDetector::new(&playbook(EN), 8000, start);
    let at = |ms| start + Duration::from_millis(ms);
    // Decided as a person from the audio, then machine words inside the window: no effect.
    let mut events = Vec::new();
    events.extend(detector.push_audio(&voice_codec::encode("hello?", 8000), at(600)));
    events.extend(detector.push_audio(&vec![0; 8000], at(1600)));
    assert_eq!(events, vec![MachineEvent::Decided(AnsweredBy::Human)]);
    assert_eq!(
        detector.push_transcript("please leave a message", true, at(2000)),
        None
    );
    assert_eq!(
        detector.push_audio(&tone(1000.0, 8000, 500), at(2500)),
        None
    );
    assert_eq!(detector.push_audio(&vec![0; 800], at(2600)), None);
    assert_eq!(detector.verdict(), HUMAN);

    // Undecided (no audio reached us), the phrase only comes after the window: a person.
    let mut detector = MachineDetector::new(&playbook(EN), 8000, start);
    assert_eq!(
        detector.push_transcript("please leave a message", true, at(30_000)),
        Some(MachineEvent::Decided(AnsweredBy::Human))
    );
    assert_eq!(detector.reason(), Some(Reason::WindowClosed));
}

#[test]
fn the_window_and_greeting_length_come_from_the_playbook() {
    let mut pb = playbook(EN);
    pb.voicemail.decide_within_seconds = 2;
    pb.voicemail.long_greeting_ms = 1500;
    let start = Instant::now();
    let mut detector = MachineDetector::new(&pb, 8000, start);
    assert_eq!(detector.deadline(), start + Duration::from_secs(2));
    assert_eq!(detector.tick(start + Duration::from_millis(1999)), None);
    assert_eq!(
        detector.tick(start + Duration::from_secs(2)),
        Some(MachineEvent::Decided(AnsweredBy::Human))
    );
    let mut detector = MachineDetector::new(&pb, 8000, start);
    let speech = voice_codec::encode(
        "a greeting of a little more than one and a half seconds",
        8000,
    );
    assert_eq!(
        detector.push_audio(&speech, start + Duration::from_millis(100)),
        Some(MachineEvent::Decided(AnsweredBy::Machine))
    );
    assert_eq!(detector.reason(), Some(Reason::LongGreeting));
}

#[test]
fn a_playbook_without_phrases_still_hears_beeps_and_greetings() {
    let mut pb = playbook(EN);
    pb.voicemail.phrases.clear();
    let start = Instant::now();
    let mut detector = MachineDetector::new(&pb, 8000, start);
    assert_eq!(
        detector.push_transcript("please leave a message", true, start),
        None
    );
    let mut audio = tone(1000.0, 8000, 300);
    audio.extend(vec![0; 800]);
    assert_eq!(
        detector.push_audio(&audio, start + Duration::from_millis(400)),
        Some(MachineEvent::Decided(AnsweredBy::Machine))
    );
    assert_eq!(detector.poll_event(), Some(MachineEvent::Beep));
}
