//! Do-not-call everywhere: an opt-out heard on a call, or added by an operator, stops every
//! campaign from dialing that number — whatever spelling a later list uses.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::sandbox::exotel::{Outcome, VoiceSetup};
use voice_runtime::sandbox::persona::Persona;

use crate::both_backends;
use crate::engine_support::*;
use crate::helpers::Backend;
use crate::live_support::{live_app, live_app_with};
use crate::process_support::world;

async fn suppressions(e: &EngineApp) -> Vec<Value> {
    let page: Value = e.app.get_json("/suppressions").await;
    page["items"].as_array().unwrap().clone()
}

/// The real live call: the lead says "please don't call me again", the LLM calls
/// `mark_do_not_call`, the conversation is saved with the number on the list. The same number,
/// spelled another way, is then left out of another campaign's upload and never dialed again.
async fn an_opt_out_on_a_call_is_never_dialed_by_another_campaign(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let first = live
        .call(Persona::by_name("do_not_call").expect("persona"))
        .await;
    let c = live.conversation(first).await.unwrap();
    assert_eq!(c["final_outcome"], "do_not_call", "{c}");
    let e = &live.e;
    let listed = suppressions(e).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["phone"], phone(0));
    assert_eq!(listed[0]["source"], "call");
    eventually(10, "the first campaign completes", || async {
        campaign(e, first).await["status"] == "COMPLETED"
    })
    .await;

    // Campaign 2: the same number without +91 and with spaces, and someone else.
    let second = e
        .app
        .create_campaign(json!({"name": "second", "playbook": "test_short", "max_attempts": 1}))
        .await["id"]
        .as_i64()
        .unwrap();
    let national = &phone(0)[3..];
    let csv = format!(
        "name,phone\nSame person,0{} {}\nSomeone else,{}\n",
        &national[..5],
        &national[5..],
        phone(1)
    );
    e.sim.script(&phone(1), vec![Outcome::Answer]);
    let (status, report) = e.app.upload_csv(second, &csv).await;
    assert_eq!(status, 200);
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(report["suppressed"], 1, "{report}");
    assert_eq!(report["suppressed_rows"][0]["row"], 2, "{report}");
    start(e, second).await;
    eventually(120, "the second campaign completes", || async {
        campaign(e, second).await["status"] == "COMPLETED"
    })
    .await;
    let dials = dials_per_number(&e.sim);
    assert_eq!(dials.get(&phone(0)), Some(&1), "{dials:?}");
    assert_eq!(dials.get(&phone(1)), Some(&1), "{dials:?}");
}

/// A number suppressed after its upload, in any campaign, is not dialed: its planned call is
/// closed CANCELLED, the lead FAILED, and the campaign still completes.
async fn a_number_suppressed_after_its_upload_is_never_dialed(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let a = campaign_with_leads(&e, 3, json!({}), |_| vec![Outcome::Answer]).await;
    // The same person is also in a second campaign (uploaded before the opt-out).
    let b = e.app.create_campaign(json!({"name": "b"})).await["id"]
        .as_i64()
        .unwrap();
    let (_, report) = e
        .app
        .upload_csv(b, &format!("name,phone\nAlso lead 1,{}\n", phone(1)))
        .await;
    assert_eq!(report["accepted"], 1, "{report}");
    let national = &phone(1)[3..];
    let added = e
        .app
        .post("/suppressions")
        .json(&json!({"phone": format!("0{national}"), "reason": "asked by letter"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    start(&e, a).await;
    start(&e, b).await;
    run_to_completion(&e, a).await;
    run_to_completion(&e, b).await;

    let dials = dials_per_number(&e.sim);
    assert_eq!(dials.get(&phone(1)), None, "{dials:?}");
    assert_eq!(dials.len(), 2, "{dials:?}");
    for (id, lead_count) in [(a, 3), (b, 1)] {
        let c = campaign(&e, id).await;
        assert_eq!(c["status"], "COMPLETED");
        assert_eq!(c["leads_completed"], lead_count, "{c}");
    }
    let suppressed: Vec<Value> = leads(&e, a)
        .await
        .into_iter()
        .chain(leads(&e, b).await)
        .filter(|l| l["phone"] == phone(1))
        .collect();
    assert_eq!(suppressed.len(), 2);
    for lead in suppressed {
        assert_eq!(lead["status"], "FAILED", "{lead}");
        assert_eq!(lead["call_attempts"], 0, "{lead}");
    }
}

/// The claim itself never returns a suppressed number, even before a round has closed its
/// planned call (a number listed between the round's two steps).
async fn the_claim_skips_suppressed_numbers(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 3, json!({}), |_| vec![Outcome::Answer]).await;
    let store = &e.app.state.store;
    let now = weekday_morning();
    assert_eq!(store.schedule_new_leads(id, now, 3, now).await.unwrap(), 3);
    e.app
        .post("/suppressions")
        .json(&json!({"phone": phone(1)}))
        .send()
        .await
        .unwrap();
    let lease = now + chrono::Duration::minutes(2);
    let claimed = store
        .claim_due_calls(
            id,
            now,
            10,
            "test-node",
            lease,
            &voice_runtime::store::ClaimCaps::campaign(10),
        )
        .await
        .unwrap();
    let phones: Vec<&str> = claimed.iter().map(|c| c.phone.as_str()).collect();
    assert_eq!(phones, vec![phone(0).as_str(), phone(2).as_str()]);
}

/// A lead who asks for a call-back on every call is called at most `max_attempts` + 2 times:
/// two call-backs are free, later ones use its attempts.
async fn call_backs_cannot_keep_a_lead_on_the_list(backend: Backend) {
    // Every day a calling day, so "tomorrow at 6" is always inside the window.
    let live = live_app_with(backend, 8000, &[("CALLING_DAYS", "Mon-Sun")]).await;
    let callback = Persona::by_name("callback").expect("persona");
    let id = live.call(callback.clone()).await;
    // Later calls of the same lead: the same persona, as the simulator's default.
    live.e.sim.set_voice(VoiceSetup {
        voicebot_url: live.e.app.url("/exotel/voicebot-url?token=test-secret"),
        personas: HashMap::new(),
        default_persona: callback,
        sample_rate: 8000,
        recordings_dir: None,
        time_limit: Duration::from_secs(90),
        measure: false,
    });
    live.e.sim.script(&phone(0), vec![Outcome::Answer; 5]);
    run_to_completion(&live.e, id).await;
    let dials = dials_per_number(&live.e.sim);
    // max_attempts is 1 in live tests: 1 + 2 free call-backs.
    assert_eq!(dials.get(&phone(0)), Some(&3), "{dials:?}");
    let lead = &leads(&live.e, id).await[0];
    assert_eq!(lead["status"], "COMPLETED", "{lead}");
    assert_eq!(lead["free_callbacks_used"], 2, "{lead}");
}

/// The goodbye after an opt-out cannot be spoken (TTS fails on it, the call gives up with its
/// apology): the outcome stays `do_not_call` and the number is on the list.
async fn an_opt_out_survives_a_failed_goodbye(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.elevenlabs
        .knobs
        .fail_texts_containing("will not call again");
    let id = live
        .call(Persona::by_name("do_not_call").expect("persona"))
        .await;
    let report = live.phone_report();
    assert!(
        report.agent_turns.iter().any(|t| t.contains("problem")),
        "the call did not give up: {:?}",
        report.agent_turns
    );
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "do_not_call", "{c}");
    let listed = suppressions(&live.e).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["phone"], phone(0));
}

/// The number is suppressed when the person opts out, not when the call is saved: a process
/// killed during the goodbye leaves the number on the list, and the restart closes the call as
/// interrupted without planning a retry.
async fn an_opt_out_is_kept_through_kill_9_mid_goodbye(backend: Backend) {
    let w = world(backend).await;
    let mut server = w.serve(&[]).await;
    w.talk_with(&server, Persona::by_name("do_not_call").expect("persona"));
    // The goodbye never comes back from TTS: the call stays live after the opt-out.
    w.elevenlabs()
        .knobs
        .hang_texts_containing("will not call again");
    let id = w.campaign(&server, 1, json!({"max_attempts": 3})).await;
    eventually(
        60,
        "the number is suppressed while the call is live",
        || async {
            let listed = w.get(&server, "/suppressions").await;
            let live = w.get(&server, "/debug/sessions").await;
            listed["items"].as_array().is_some_and(|a| !a.is_empty())
                && live["sessions"].as_array().is_some_and(|a| {
                    a.iter().any(|c| {
                        c["conversation"]["stage"]
                            .as_str()
                            .is_some_and(|s| s != "ended")
                    })
                })
        },
    )
    .await;
    server.kill();
    let server = w.serve(&[]).await;
    let saved = w.conversations(&server, id).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0]["final_outcome"], "interrupted", "{}", saved[0]);
    let leads = w.get(&server, &format!("/campaigns/{id}/leads")).await;
    let lead = &leads["items"][0];
    assert_eq!(lead["status"], "COMPLETED", "a retry was planned: {lead}");
    let listed = w.get(&server, "/suppressions").await;
    assert_eq!(listed["items"][0]["phone"], phone(0), "{listed}");
    assert_eq!(listed["items"][0]["source"], "call", "{listed}");
    assert_eq!(w.sim.dials().len(), 1, "redialed");
}

both_backends!(
    an_opt_out_survives_a_failed_goodbye,
    an_opt_out_is_kept_through_kill_9_mid_goodbye,
    the_claim_skips_suppressed_numbers,
    an_opt_out_on_a_call_is_never_dialed_by_another_campaign,
    a_number_suppressed_after_its_upload_is_never_dialed,
    call_backs_cannot_keep_a_lead_on_the_list,
);
