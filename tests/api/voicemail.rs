//! Voicemail, carrier announcements and people, end to end: the simulated phone answers with a
//! machine persona (a long greeting, a beep, then it records) or a person; what happened is
//! read only from the database (outcome, the planned retry, the lead's status) and from the
//! phone's own report (what the machine recorded after its beep).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::clock::Clock;
use voice_runtime::sandbox::exotel::media_client::CallReport;
use voice_runtime::sandbox::exotel::{Outcome, VoiceSetup};
use voice_runtime::sandbox::persona::Persona;

use crate::both_backends;
use crate::engine_support::{campaign_with_leads, eventually, leads, start};
use crate::helpers::Backend;
use crate::live_support::{live_app, say, LiveApp};

const MESSAGE: &str = "please call us back";

/// One lead answered by `persona` on a campaign with `settings`; returns the campaign id once
/// the conversation is saved.
async fn call(app: &LiveApp, persona: Persona, settings: Value) -> i64 {
    app.e.sim.set_voice(VoiceSetup {
        voicebot_url: app.e.app.url("/exotel/voicebot-url?token=test-secret"),
        personas: HashMap::new(),
        default_persona: persona,
        sample_rate: app.sample_rate,
        recordings_dir: None,
        time_limit: Duration::from_secs(90),
        measure: false,
    });
    let id = campaign_with_leads(&app.e, 1, settings, |_| vec![Outcome::Answer]).await;
    start(&app.e, id).await;
    eventually(120, "the call is saved", || async {
        app.conversation(id).await.is_some()
    })
    .await;
    id
}

fn recorded(report: &CallReport) -> String {
    report.machine_recorded.join(" ")
}

fn agent_said(report: &CallReport) -> String {
    report.agent_turns.join(" ")
}

async fn next_planned_call(app: &LiveApp, id: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    let now = app.e.clock.now();
    app.e
        .app
        .state
        .store
        .pending_summary(id, now)
        .await
        .unwrap()
        .0
}

async fn a_voicemail_box_gets_the_message_after_the_beep(backend: Backend) {
    let app = live_app(backend, 8000).await;
    let saved_at = app.e.clock.now();
    let id = call(
        &app,
        Persona::voicemail_box_en(),
        json!({"playbook": "test_voicemail", "max_attempts": 3, "retry_voicemail_minutes": 90}),
    )
    .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(conversation["final_outcome"], "voicemail", "{conversation}");
    assert_eq!(conversation["lead_qualified"], Value::Null);
    let report = app.phone_report();
    assert!(
        recorded(&report).contains(MESSAGE),
        "the message is recorded after the beep: {report:?}"
    );
    assert!(
        !report.machine_talked_over.join(" ").contains(MESSAGE),
        "the message did not start over the greeting: {report:?}"
    );
    // The agent hung up after the message; the machine did not have to.
    assert!(!report.caller_hung_up);
    // Called again after retry_voicemail_minutes, inside the window (Thursday 11:00 IST
    // + 90 min), on the engine's clock.
    assert_eq!(
        next_planned_call(&app, id).await,
        Some(saved_at + chrono::Duration::minutes(90))
    );
    let lead = &leads(&app.e, id).await[0];
    assert_eq!(lead["status"], "SCHEDULED", "{lead}");
    let analytics: Value = app
        .e
        .app
        .get(&format!("/analytics/campaign/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(analytics["voicemail_calls"], 1, "{analytics}");
    assert_eq!(analytics["answered_calls"], 0, "{analytics}");
}

async fn no_message_when_the_playbook_has_none(backend: Backend) {
    let app = live_app(backend, 16000).await;
    let id = call(
        &app,
        Persona::voicemail_box_en(),
        json!({"playbook": "test_voicemail_silent", "max_attempts": 2}),
    )
    .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(conversation["final_outcome"], "voicemail", "{conversation}");
    let report = app.phone_report();
    assert!(
        report.machine_recorded.is_empty(),
        "nothing said after the beep: {report:?}"
    );
    assert!(!report.caller_hung_up, "the agent hung up: {report:?}");
    // The default wait (120 min) after 11:00 IST.
    assert!(next_planned_call(&app, id).await.is_some());
}

async fn a_hindi_carrier_announcement_is_voicemail_without_a_message(backend: Backend) {
    let app = live_app(backend, 8000).await;
    let id = call(
        &app,
        Persona::carrier_announcement_hi(),
        json!({"playbook": "test_voicemail", "max_attempts": 1}),
    )
    .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(conversation["final_outcome"], "voicemail", "{conversation}");
    let report = app.phone_report();
    assert!(
        !agent_said(&report).contains(MESSAGE),
        "no beep, no message: {report:?}"
    );
    assert!(report.caller_hung_up);
    // That was the only attempt: nothing more is planned and the lead is exhausted.
    assert_eq!(next_planned_call(&app, id).await, None);
    let lead = &leads(&app.e, id).await[0];
    assert_eq!(lead["status"], "EXHAUSTED", "{lead}");
}

async fn a_person_saying_hello_is_not_a_machine(backend: Backend) {
    let app = live_app(backend, 8000).await;
    let mut person = Persona::new(
        "hello",
        vec![say("hello?"), say("a 2bhk in pune"), say("80 lakh")],
    );
    person.think = Duration::from_millis(300);
    let id = call(
        &app,
        person,
        json!({"playbook": "test_voicemail", "max_attempts": 3}),
    )
    .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_ne!(conversation["final_outcome"], "voicemail", "{conversation}");
    let report = app.phone_report();
    assert!(!agent_said(&report).contains(MESSAGE), "{report:?}");
    assert!(
        report.agent_turns.len() >= 2,
        "the agent talked with the person: {report:?}"
    );
}

/// A playbook with no machine phrases (and no message): the audio alone (the long greeting,
/// the beep) still tells the machine.
async fn without_phrases_the_audio_still_tells_a_machine(backend: Backend) {
    let app = live_app(backend, 8000).await;
    let id = call(
        &app,
        Persona::voicemail_box_en(),
        json!({"playbook": "test_short", "max_attempts": 2}),
    )
    .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(conversation["final_outcome"], "voicemail", "{conversation}");
    let report = app.phone_report();
    assert!(report.machine_recorded.is_empty(), "{report:?}");
    assert!(!report.caller_hung_up, "the agent hung up: {report:?}");
}

both_backends!(
    without_phrases_the_audio_still_tells_a_machine,
    a_voicemail_box_gets_the_message_after_the_beep,
    no_message_when_the_playbook_has_none,
    a_hindi_carrier_announcement_is_voicemail_without_a_message,
    a_person_saying_hello_is_not_a_machine
);
