//! The turn-taking personas end to end: a callee who says "Hello?" over the greeting, one who
//! says "haan ji" while the agent talks, one who breathes in the middle of a sentence (also
//! with the end of turn for the first half coming after they went on), and a provider that
//! stalls mid-call. What must hold is read from the saved transcript and from the simulated
//! phone's report (what the caller heard, and how long they waited).

use std::time::Duration;

use serde_json::Value;
use voice_runtime::sandbox::exotel::media_client::{CallReport, WaitCause};
use voice_runtime::sandbox::persona::{Persona, Reply};
use voice_runtime::sandbox::run::{run, silences, SandboxOptions};

use crate::both_backends;
use crate::helpers::Backend;
use crate::live_support::{say, LiveApp, TestPlaybooks};

/// The longest silence a caller may hear waiting for the agent, whatever fails.
const MAX_SILENCE_MS: u32 = 3000;

/// The short test playbook with the shipped playbooks' barge-in threshold (400 ms), under
/// which a real Deepgram's first interim comes too late to show a back-channel for what it is.
async fn persona_app(backend: Backend) -> (LiveApp, TestPlaybooks) {
    let playbooks = TestPlaybooks::short_with(&[("min_speech_ms: 700", "min_speech_ms: 400")]);
    let live = playbooks.live_app(backend, 8000).await;
    (live, playbooks)
}

fn turns(c: &Value) -> Vec<Value> {
    c["transcript"].as_array().cloned().unwrap_or_default()
}

fn texts_of(c: &Value, speaker: &str) -> Vec<String> {
    turns(c)
        .iter()
        .filter(|t| t["speaker"] == speaker)
        .map(|t| t["text"].as_str().unwrap_or("").to_string())
        .collect()
}

fn longest_wait_ms(report: &CallReport) -> u32 {
    report.longest_wait().map(|w| w.ms).unwrap_or(0)
}

/// The phone times every wait: the greeting after picking up, then each answer.
async fn the_phone_reports_how_long_the_caller_waited(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    let id = live.call(crate::live_support::interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    let report = live.phone_report();
    assert_eq!(report.persona, "interested");
    let first = &report.waits[0];
    assert_eq!(first.after, WaitCause::PickUp);
    assert!(first.answered);
    let after_answers: Vec<&str> = report
        .waits
        .iter()
        .filter_map(|w| match &w.after {
            WaitCause::CallerSpoke(said) => Some(said.as_str()),
            WaitCause::PickUp => None,
        })
        .collect();
    assert_eq!(
        after_answers,
        ["yes", "a 2bhk in pune", "80 lakh"],
        "{:?}",
        report.waits
    );
    assert!(
        report.waits.iter().all(|w| w.answered),
        "{:?}",
        report.waits
    );
    assert!(
        longest_wait_ms(&report) <= MAX_SILENCE_MS,
        "{:?}",
        report.waits
    );
}

/// "Hello?" over the greeting's first words: the greeting is heard whole, and the agent's
/// first turn is the greeting, not an answer to "Hello?".
async fn hello_on_pickup_does_not_cut_the_greeting(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    let id = live.call(Persona::hello_on_pickup()).await;
    let c = live.conversation(id).await.unwrap();
    let report = live.phone_report();
    assert_eq!(
        report.caller_said.first().map(String::as_str),
        Some("hello?")
    );
    assert_eq!(
        report.agent_turns.first().map(String::as_str),
        Some("hi lead 0, asha here. got a minute?"),
        "heard: {:?}",
        report.agent_turns
    );
    let first_ai = turns(&c)
        .into_iter()
        .find(|t| t["speaker"] == "ai")
        .unwrap();
    assert_eq!(
        first_ai["text"], "Hi Lead 0, Asha here. Got a minute?",
        "{c}"
    );
    assert_eq!(first_ai["interrupted"], false, "{c}");
    assert_eq!(report.clears, 0, "{c}");
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

/// "haan ji" while the agent talks is a back-channel: the agent goes on, nothing is cleared,
/// and it is not answered as a turn. As with a real Deepgram, the first interim comes 700 ms
/// after speech starts, after the 400 ms VAD threshold: the agent holds, then resumes.
async fn haan_ji_while_the_agent_talks_does_not_interrupt(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    live.deepgram.knobs.endpointing(300, 700, 400, 1000);
    let id = live.call(Persona::haan_ji()).await;
    let c = live.conversation(id).await.unwrap();
    let report = live.phone_report();
    assert!(
        report.caller_said.iter().any(|s| s == "haan ji"),
        "{:?}",
        report.caller_said
    );
    assert_eq!(report.clears, 0, "{c}");
    assert!(turns(&c).iter().all(|t| t["interrupted"] == false), "{c}");
    assert!(
        !texts_of(&c, "user").iter().any(|t| t.contains("haan")),
        "a back-channel became a turn: {c}"
    );
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

/// A breath of 750 ms inside an answer: one user turn holding the whole sentence, and the
/// agent never answers its first half.
async fn a_breath_mid_sentence_is_one_turn(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    // Endpointing longer than the breath: at the breath Deepgram sends `is_final` words
    // without `speech_final`, which must not end the caller's turn.
    live.deepgram.knobs.endpointing(1000, 700, 400, 1000);
    let id = live.call(Persona::pauses_mid_sentence()).await;
    let c = live.conversation(id).await.unwrap();
    let said = texts_of(&c, "user");
    for whole in ["i am looking for a 2bhk in pune", "my budget is 80 lakh"] {
        assert!(
            said.iter().any(|t| t == whole),
            "{whole:?} not one turn: {said:?}"
        );
    }
    for half in ["i am looking for", "my budget is"] {
        assert!(
            !said.iter().any(|t| t == half),
            "{half:?} answered alone: {c}"
        );
    }
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

/// The recogniser's `speech_final` for the words before a breath comes after the caller went
/// on, as a slow tail of the real service once brought it: our VAD heard "my budget is" end
/// and `Finalize` flushed nothing yet, then the final came ~30 ms after the caller resumed,
/// and the call answered half a sentence. Deepgram ends words after 300 ms of silence (as the
/// runtime asks), and the final of the half before the 750 ms breath is held 700 ms: it lands
/// about 400 ms into "80 lakh" (630 ms of speech), wherever the 100 ms frames cut the audio.
/// It must not end the turn: the end of "80 lakh" does, and the whole sentence is answered
/// once.
async fn a_speech_final_that_comes_after_the_breath_is_one_turn(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    live.deepgram.knobs.endpointing(300, 700, 400, 1000);
    live.deepgram
        .knobs
        .hold_finals_containing("my budget is", Duration::from_millis(700));
    // One breath only, in the budget: `pauses_mid_sentence` breathes in its first answer too,
    // and with these fakes' instant answers a breath whose final is not held goes by another
    // rule (the answer already audible is cleared and taken back), which the phone hears as
    // one more agent turn to answer, shifting its script.
    let breathes_once = Persona::new(
        "pause_once",
        vec![
            say("yes"),
            say("i am looking for a 2bhk in pune"),
            Reply::SayWithBreath {
                first: "my budget is".into(),
                breath: Persona::BREATH,
                rest: "80 lakh".into(),
            },
            say("thanks"),
        ],
    );
    let id = live.call(breathes_once).await;
    let c = live.conversation(id).await.unwrap();
    let said = texts_of(&c, "user");
    let whole = said.iter().filter(|t| *t == "my budget is 80 lakh").count();
    assert_eq!(whole, 1, "not one turn: {said:?}");
    for half in ["my budget is", "80 lakh"] {
        assert!(
            !said.iter().any(|t| t == half),
            "{half:?} was a turn of its own: {c}"
        );
    }
    // No answer to the half was cut by the rest (a barge-in clears it and keeps it in the
    // transcript, `interrupted`), and the whole sentence was answered.
    let report = live.phone_report();
    assert_eq!(report.clears, 0, "{report:?}\n{c}");
    assert!(turns(&c).iter().all(|t| t["interrupted"] == false), "{c}");
    let answered = report
        .waits
        .iter()
        .any(|w| w.after == WaitCause::CallerSpoke("my budget is 80 lakh".into()) && w.answered);
    assert!(answered, "{:?}", report.waits);
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

/// The LLM stalls on the first answer (no headers, no tokens): the caller hears "one moment"
/// (or the apology) and is never left more than 3 s in silence.
async fn a_stalled_llm_never_leaves_the_caller_in_silence(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    // The greeting is the playbook's; the first LLM request is the answer to "yes".
    live.openai.knobs.hang_next(1);
    a_stalled_call_is_never_silent(&live, crate::live_support::interested()).await;
}

/// The TTS stalls mid-call (its stream for the confirmation never answers): the caller hears
/// the cached apology or "one moment", never more than 3 s of silence.
async fn a_stalled_tts_never_leaves_the_caller_in_silence(backend: Backend) {
    let (live, _playbooks) = persona_app(backend).await;
    live.elevenlabs
        .knobs
        .hang_texts_containing(Persona::STALL_CUE);
    a_stalled_call_is_never_silent(&live, Persona::provider_stall()).await;
}

/// Runs one call against a stalled provider: no wait longer than `MAX_SILENCE_MS`, and the
/// caller heard "one moment" or the apology.
async fn a_stalled_call_is_never_silent(live: &LiveApp, persona: Persona) {
    // "One moment" is fallback audio: rendered at start, as a deployment has it on disk.
    let audio = &live.e.app.state.engine.fallback_audio;
    crate::engine_support::eventually(30, "the fallback lines are ready", || async {
        audio.lines("test_short", None, 8000).is_some()
    })
    .await;
    let id = live.call(persona).await;
    let c = live.conversation(id).await.unwrap();
    let report = live.phone_report();
    assert!(
        longest_wait_ms(&report) <= MAX_SILENCE_MS,
        "{:?}\n{c}",
        report.waits
    );
    assert!(
        report
            .agent_turns
            .iter()
            .any(|t| t.contains("one moment") || t.contains("sorry")),
        "heard: {:?}",
        report.agent_turns
    );
}

both_backends!(the_phone_reports_how_long_the_caller_waited);

both_backends!(
    hello_on_pickup_does_not_cut_the_greeting,
    haan_ji_while_the_agent_talks_does_not_interrupt,
    a_breath_mid_sentence_is_one_turn,
    a_speech_final_that_comes_after_the_breath_is_one_turn,
    a_stalled_llm_never_leaves_the_caller_in_silence,
    a_stalled_tts_never_leaves_the_caller_in_silence
);

/// The sandbox with the new personas: every call is timed by the phone and the summary's
/// longest silence names its call and persona.
#[actix_rt::test]
async fn sandbox_with_the_turn_taking_personas_reports_the_longest_silence() {
    let dir = tempfile::tempdir().unwrap();
    let leads = dir.path().join("leads.csv");
    std::fs::write(
        &leads,
        "name,phone,persona\n\
Hema Hello,9000000011,hello\n\
Hari HaanJi,9000000012,haan_ji\n\
Prem Pause,9000000013,pause_mid_sentence\n\
Asha Interested,9000000014,interested\n",
    )
    .unwrap();
    let result = run(SandboxOptions {
        leads: Some(leads),
        port: 0,
        quiet: true,
        playbook: "test_short".into(),
        playbooks_dir: Some("tests/fixtures/playbooks".into()),
        ..Default::default()
    })
    .await
    .expect("the sandbox runs");
    assert_eq!(result.campaign["status"], "COMPLETED");
    let mut personas: Vec<&str> = result.phone.values().map(|r| r.persona.as_str()).collect();
    personas.sort_unstable();
    assert_eq!(
        personas,
        ["haan_ji", "hello", "interested", "pause_mid_sentence"]
    );
    for report in result.phone.values() {
        // The agent greets when the callee's "Hello?" ends: that caller's first wait runs
        // from their "Hello?", everyone else's from the pick-up.
        let first = report.waits.first().map(|w| &w.after);
        if report.persona == "hello" {
            assert_eq!(first, Some(&WaitCause::CallerSpoke("hello?".into())));
        } else {
            assert_eq!(first, Some(&WaitCause::PickUp));
        }
    }
    let s = silences(&result.phone);
    assert!(s.waits >= 4 && s.p50 <= s.p95, "{s:?}");
    let longest = s.longest.expect("a longest silence");
    assert!(result.phone.contains_key(&longest.call_sid));
}
