//! Hand-off to a human (issue 14), end to end in connect-to-flow mode: the simulated phone's
//! lead asks for a person, the agent says the hand-off line and closes its stream, the
//! simulated flow asks our Passthru (200/302) and our Connect URL (whom to dial), rings a
//! simulated human who answers or not, and tells our result URL. What happened is read from
//! the database, the phone's and the flow's own reports, and the webhook receiver.

use std::collections::HashMap;

use serde_json::{json, Value};
use voice_runtime::actors::campaign_supervisor::WakeAll;
use voice_runtime::sandbox::exotel::HandoffFlow;
use voice_runtime::sandbox::persona::Persona;

use crate::both_backends;
use crate::engine_support::{campaign, eventually, leads};
use crate::helpers::{error_of, spawn_app, Backend};
use crate::live_support::{live_app_with, LiveApp};
use crate::webhooks::{receiver, Received, SECRET};

const LINE: &str = "Connecting you to Priya from our sales team, one moment.";
const PRIYA: &str = "+919812345678";

/// A live app whose campaign webhook is a receiver, and a simulated flow with hand-off
/// applets whose humans answer as `answers` says (numbers not listed answer).
async fn flow_app(backend: Backend, answers: &[(&str, bool)]) -> (LiveApp, String, Received) {
    flow_app_with(backend, answers, true, &[]).await
}

/// As `flow_app`; `result_passthru` false: the flow has no Passthru after the Connect, so only
/// the status callback's legs tell whether the human answered.
async fn flow_app_with(
    backend: Backend,
    answers: &[(&str, bool)],
    result_passthru: bool,
    extra: &[(&str, &str)],
) -> (LiveApp, String, Received) {
    let (url, received) = receiver(vec![]).await;
    let mut vars = vec![
        ("OUTBOUND_WEBHOOK_SECRET", SECRET),
        ("OUTBOUND_WEBHOOK_RETRY_SECONDS", "1"),
    ];
    vars.extend_from_slice(extra);
    let app = live_app_with(backend, 8000, &vars).await;
    let mut flow = HandoffFlow::new(
        app.e.app.url("/exotel/passthru?token=test-secret"),
        app.e
            .app
            .url("/exotel/transfer-destination?token=test-secret"),
        result_passthru.then(|| app.e.app.url("/exotel/transfer-result?token=test-secret")),
    );
    flow.answers = answers
        .iter()
        .map(|(n, a)| (n.to_string(), *a))
        .collect::<HashMap<_, _>>();
    app.e.sim.set_handoff(flow);
    (app, url, received)
}

fn settings(webhook: &str, extra: Value) -> Value {
    let mut s = json!({
        "playbook": "test_handoff",
        "transfer_numbers": ["09812345678", "+91 98123 45679"],
        "transfer_strategy": "in_order",
        "webhook_url": webhook,
    });
    if let (Some(s), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    s
}

fn the_call_sid(app: &LiveApp) -> String {
    app.e.sim.dials()[0].call_sid.clone()
}

async fn transfer_result(app: &LiveApp, sid: &str) -> Option<String> {
    app.e
        .app
        .state
        .store
        .transfer(sid)
        .await
        .unwrap()
        .and_then(|t| t.result)
}

fn events(received: &Received, name: &str) -> Vec<Value> {
    received
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, _, body)| serde_json::from_str::<Value>(body).ok())
        .filter(|e| e["event"] == name)
        .collect()
}

async fn a_lead_who_asks_for_a_person_is_handed_to_the_team(backend: Backend) {
    let (app, webhook, received) = flow_app(backend, &[]).await;
    let id = app
        .call_in(Persona::wants_a_person(), settings(&webhook, json!({})))
        .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(
        conversation["final_outcome"], "transferred",
        "{conversation}"
    );

    // The hand-off line was heard in full, and the agent (not the lead) closed the stream.
    let phone = app.phone_report();
    // The phone hears words decoded from the audio, lower case.
    let heard = phone.agent_turns.join(" ");
    assert!(heard.contains(&LINE.to_lowercase()), "{phone:?}");
    assert!(!phone.caller_hung_up, "{phone:?}");

    // The flow: Passthru took the transfer branch (200, no Location), Connect got Priya's
    // number, Priya answered.
    let sid = the_call_sid(&app);
    eventually(20, "the flow played", || async {
        app.e.sim.handoff_report(&sid).is_some()
    })
    .await;
    let flow = app.e.sim.handoff_report(&sid).unwrap();
    assert_eq!(flow.passthru_status, 200, "{flow:?}");
    assert!(!flow.passthru_location, "{flow:?}");
    assert_eq!(flow.destination.as_deref(), Some(PRIYA), "{flow:?}");
    assert_eq!(flow.human_answered, Some(true), "{flow:?}");
    eventually(20, "the transfer is settled", || async {
        transfer_result(&app, &sid).await.is_some()
    })
    .await;
    assert_eq!(
        transfer_result(&app, &sid).await.as_deref(),
        Some("answered")
    );

    // Asked again, both endpoints answer the same (idempotent); text mode gives the number.
    let passthru = app
        .e
        .app
        .get(&format!("/exotel/passthru?token=test-secret&CallSid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(passthru.status(), 200);
    let again = app
        .e
        .app
        .get(&format!(
            "/exotel/transfer-destination?token=test-secret&CallSid={sid}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), PRIYA);

    // The team heard about it: lead, facts, a two-line summary, the transcript link.
    eventually(20, "call.transferred is delivered", || async {
        !events(&received, "call.transferred").is_empty()
    })
    .await;
    let event = events(&received, "call.transferred").remove(0);
    assert_eq!(event["call_sid"], sid.as_str(), "{event}");
    assert_eq!(event["lead"]["name"], "Lead 0", "{event}");
    assert!(event["facts"].is_object(), "{event}");
    let summary = event["summary"].as_str().unwrap();
    assert_eq!(summary.lines().count(), 2, "{summary}");
    assert!(summary.contains("talk to a person"), "{summary}");
    assert!(
        event["links"]["transcript"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/exports/calls/{id}")),
        "{event}"
    );
    // The model was offered the tool.
    assert!(app
        .openai
        .requests
        .all()
        .iter()
        .any(|r| r.to_string().contains("transfer_to_human")));
}

async fn outside_the_teams_hours_the_agent_offers_a_call_back(backend: Backend) {
    let (app, webhook, received) = flow_app(backend, &[]).await;
    // The test clock is 11:00 IST: the team works evenings only.
    let id = app
        .call_in(
            Persona::wants_a_person(),
            settings(&webhook, json!({"transfer_hours": "18:00-20:00"})),
        )
        .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(
        conversation["final_outcome"], "callback_requested",
        "{conversation}"
    );
    let heard = app.phone_report().agent_turns.join(" ");
    assert!(heard.contains("call you back"), "{heard}");
    assert!(!heard.contains(&LINE.to_lowercase()), "{heard}");
    // The tool was never offered; the Passthru took the hang-up branch; nobody was dialed.
    assert!(!app
        .openai
        .requests
        .all()
        .iter()
        .any(|r| r.to_string().contains("\"transfer_to_human\"")));
    let sid = the_call_sid(&app);
    eventually(20, "the flow played", || async {
        app.e.sim.handoff_report(&sid).is_some()
    })
    .await;
    let flow = app.e.sim.handoff_report(&sid).unwrap();
    assert_eq!(flow.passthru_status, 302, "{flow:?}");
    assert_eq!(flow.destination, None, "{flow:?}");
    assert!(app
        .e
        .app
        .state
        .store
        .transfer(&sid)
        .await
        .unwrap()
        .is_none());
    assert!(events(&received, "call.transferred").is_empty());
}

async fn a_missed_transfer_books_a_call_back(backend: Backend) {
    let (app, webhook, _) = flow_app(backend, &[(PRIYA, false)]).await;
    let id = app
        .call_in(
            Persona::wants_a_person(),
            settings(&webhook, json!({"max_attempts": 1})),
        )
        .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(
        conversation["final_outcome"], "transferred",
        "{conversation}"
    );
    let sid = the_call_sid(&app);
    eventually(30, "the transfer is settled", || async {
        transfer_result(&app, &sid).await.is_some()
    })
    .await;
    assert_eq!(transfer_result(&app, &sid).await.as_deref(), Some("missed"));
    // The flow reports once our result URL answered, which is after the result is stored.
    eventually(20, "the flow played", || async {
        app.e.sim.handoff_report(&sid).is_some()
    })
    .await;
    let flow = app.e.sim.handoff_report(&sid).unwrap();
    assert_eq!(flow.human_answered, Some(false), "{flow:?}");
    // The call-back is booked although it was the lead's only attempt.
    eventually(40, "the lead is scheduled again", || async {
        leads(&app.e, id).await[0]["status"] == "SCHEDULED"
    })
    .await;
    let now = voice_runtime::clock::Clock::now(&*app.e.clock);
    let next = app
        .e
        .app
        .state
        .store
        .pending_summary(id, now)
        .await
        .unwrap()
        .0;
    assert!(next.is_some_and(|at| at > now), "{next:?}");
    // The lead was the campaign's last: it stayed open for the call-back (it once completed
    // as the call ended, and the call-back was never dialed), and makes it when it is due.
    let status = campaign(&app.e, id).await["status"].clone();
    assert_ne!(status, "COMPLETED");
    let dials = app.e.sim.dials().len();
    app.e
        .clock
        .set(next.unwrap() + chrono::Duration::minutes(1));
    app.e.app.state.campaigns.do_send(WakeAll);
    eventually(30, "the call-back is dialed", || async {
        app.e.sim.dials().len() > dials
    })
    .await;
}

async fn without_a_result_passthru_the_status_callback_legs_settle_it(backend: Backend) {
    let (app, webhook, _) = flow_app_with(backend, &[], false, &[]).await;
    let id = app
        .call_in(Persona::wants_a_person(), settings(&webhook, json!({})))
        .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(
        conversation["final_outcome"], "transferred",
        "{conversation}"
    );
    let sid = the_call_sid(&app);
    eventually(30, "the transfer is settled from the legs", || async {
        transfer_result(&app, &sid).await.is_some()
    })
    .await;
    assert_eq!(
        transfer_result(&app, &sid).await.as_deref(),
        Some("answered")
    );
}

/// Direct mode has no flow after the stream: the tool is never offered, the lead who asks for
/// a person is offered a call-back.
async fn direct_mode_offers_a_call_back_instead(backend: Backend) {
    let (app, webhook, _) =
        flow_app_with(backend, &[], true, &[("EXOTEL_CONNECT_MODE", "direct")]).await;
    let id = app
        .call_in(Persona::wants_a_person(), settings(&webhook, json!({})))
        .await;
    let conversation = app.conversation(id).await.unwrap();
    assert_eq!(
        conversation["final_outcome"], "callback_requested",
        "{conversation}"
    );
    assert!(!app
        .openai
        .requests
        .all()
        .iter()
        .any(|r| r.to_string().contains("\"transfer_to_human\"")));
    assert!(app.e.sim.handoff_report(&the_call_sid(&app)).is_none());
}

async fn unknown_calls_take_the_hang_up_branch_and_bad_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let passthru = app
        .get("/exotel/passthru?token=test-secret&CallSid=unknown-sid")
        .send()
        .await
        .unwrap();
    assert_eq!(passthru.status(), 302);
    assert!(passthru.headers().get("location").is_none());
    let form = app
        .post("/exotel/passthru?token=test-secret")
        .form(&[("CallSid", "unknown-sid")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 302);
    let no_sid = app
        .get("/exotel/passthru?token=test-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(no_sid.status(), 302);

    let json_mode = app
        .get("/exotel/transfer-destination?token=test-secret&CallSid=unknown-sid")
        .header("Exotel-Version", "1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(json_mode.status(), 200);
    let body: Value = json_mode.json().await.unwrap();
    assert_eq!(body["destination"]["numbers"], json!([]), "{body}");
    let text_mode = app
        .get("/exotel/transfer-destination?token=test-secret&CallSid=unknown-sid")
        .send()
        .await
        .unwrap();
    assert_eq!(text_mode.status(), 404);

    for path in [
        "/exotel/passthru?token=guess&CallSid=unknown-sid",
        "/exotel/passthru?CallSid=unknown-sid",
        "/exotel/transfer-destination?token=guess&CallSid=unknown-sid",
        "/exotel/transfer-result?token=guess&CallSid=unknown-sid",
    ] {
        let response = app.get(path).send().await.unwrap();
        error_of(response, 401).await;
    }
}

/// Round-robin over two numbers, at most two transfers at once, the same number on a repeat
/// ask; a settled transfer frees its number.
async fn destinations_follow_the_strategy_and_the_limit(backend: Backend) {
    use voice_runtime::handoff::TransferResult;
    use voice_runtime::store::{ClaimCaps, NewTransfer};
    const B: &str = "+919812345670";
    let app = spawn_app(backend).await;
    let store = &app.state.store;
    let id = app
        .create_campaign(json!({"name": "c", "transfer_numbers": [PRIYA, B],
            "transfer_strategy": "round_robin", "max_concurrent_transfers": 2}))
        .await["id"]
        .as_i64()
        .unwrap();
    let csv = "name,phone\nA,+919000000001\nB,+919000000002\nC,+919000000003\n";
    let (status, _) = app.upload_csv(id, csv).await;
    assert_eq!(status, 200);
    let now = chrono::Utc::now();
    store.schedule_new_leads(id, now, 1, now).await.unwrap();
    let caps = ClaimCaps {
        campaign: 10,
        account: None,
        per_minute: None,
    };
    let claimed = store
        .claim_due_calls(
            id,
            now,
            3,
            "node-0",
            now + chrono::Duration::minutes(5),
            &caps,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    for (i, call) in claimed.iter().enumerate() {
        let transfer = NewTransfer {
            call_sid: format!("sid-{i}"),
            campaign_id: id,
            lead_id: call.lead_id,
            scheduled_call_id: call.scheduled_call_id,
            event: json!({}),
        };
        store.record_transfer(&transfer, now).await.unwrap();
        store.record_transfer(&transfer, now).await.unwrap(); // a repeat changes nothing
    }
    let dest =
        |sid: &'static str| async move { store.transfer_destination(sid, now).await.unwrap() };
    assert_eq!(dest("sid-0").await.as_deref(), Some(PRIYA));
    assert_eq!(
        dest("sid-0").await.as_deref(),
        Some(PRIYA),
        "the same on a repeat"
    );
    assert_eq!(dest("sid-1").await.as_deref(), Some(B), "round robin");
    assert_eq!(dest("sid-2").await, None, "two transfers at once at most");
    // The Connect in JSON mode sees the same.
    let json_mode: Value = app
        .get("/exotel/transfer-destination?token=test-secret&CallSid=sid-1")
        .header("Exotel-Version", "1.0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        json_mode["destination"]["numbers"],
        json!([B]),
        "{json_mode}"
    );
    assert_eq!(json_mode["fetch_after_attempt"], false);
    store
        .settle_transfer("sid-0", TransferResult::Answered, None, now)
        .await
        .unwrap();
    assert_eq!(
        dest("sid-2").await.as_deref(),
        Some(PRIYA),
        "Priya is free again"
    );
}

async fn transfer_settings_are_validated_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, field) in [
        (json!({"transfer_numbers": ["12"]}), "transfer_numbers"),
        (
            json!({"transfer_numbers": ["+919812345678", "abc"]}),
            "transfer_numbers",
        ),
        (json!({"transfer_strategy": "random"}), "transfer_strategy"),
        (json!({"transfer_hours": "10-19"}), "transfer_hours"),
        (
            json!({"max_concurrent_transfers": 0}),
            "max_concurrent_transfers",
        ),
    ] {
        let mut full = json!({"name": "c"});
        full.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let response = app.post("/campaigns").json(&full).send().await.unwrap();
        let error = error_of(response, 422).await;
        assert_eq!(error["field"], field, "{body}: {error}");
    }
    let campaign = app
        .create_campaign(json!({"name": "c", "transfer_numbers": ["09812345678"],
            "transfer_strategy": "round_robin", "transfer_hours": "9:30-18:00",
            "max_concurrent_transfers": 2}))
        .await;
    assert_eq!(campaign["transfer_numbers"], json!([PRIYA]), "{campaign}");
    assert_eq!(campaign["transfer_strategy"], "round_robin");
    assert_eq!(campaign["transfer_hours"], "09:30-18:00");
    assert_eq!(campaign["max_concurrent_transfers"], 2);
}

both_backends!(
    a_lead_who_asks_for_a_person_is_handed_to_the_team,
    outside_the_teams_hours_the_agent_offers_a_call_back,
    a_missed_transfer_books_a_call_back,
    without_a_result_passthru_the_status_callback_legs_settle_it,
    direct_mode_offers_a_call_back_instead,
    unknown_calls_take_the_hang_up_branch_and_bad_tokens_are_refused,
    transfer_settings_are_validated_naming_the_field,
    destinations_follow_the_strategy_and_the_limit,
    a_missed_transfers_call_back_waits_for_the_save_and_is_booked_once,
);

/// A missed transfer's call-back is owed from its result, but booked only once the call's own
/// save has ended the lead (the result can come first), by whichever node looks next (a restart
/// in between loses nothing), and once when two look at the same moment.
async fn a_missed_transfers_call_back_waits_for_the_save_and_is_booked_once(backend: Backend) {
    use voice_runtime::handoff::TransferResult;
    use voice_runtime::store::{ClaimCaps, NewTransfer};
    let app = spawn_app(backend).await;
    let store = &app.state.store;
    let id = app
        .create_campaign(json!({"name": "c", "transfer_numbers": [PRIYA]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = app.upload_csv(id, "name,phone\nA,+919000000001\n").await;
    assert_eq!(status, 200);
    let now = chrono::Utc::now();
    store.schedule_new_leads(id, now, 1, now).await.unwrap();
    let lease = now + chrono::Duration::minutes(5);
    let claimed = store
        .claim_due_calls(id, now, 1, "node-0", lease, &ClaimCaps::campaign(10))
        .await
        .unwrap();
    let call = &claimed[0];
    store
        .mark_dialed(call, id, "sid-x", lease, now)
        .await
        .unwrap();
    let transfer = NewTransfer {
        call_sid: "sid-x".into(),
        campaign_id: id,
        lead_id: call.lead_id,
        scheduled_call_id: call.scheduled_call_id,
        event: json!({}),
    };
    store.record_transfer(&transfer, now).await.unwrap();
    let callback_at = now + chrono::Duration::hours(2);
    store
        .settle_transfer("sid-x", TransferResult::Missed, Some(callback_at), now)
        .await
        .unwrap();
    assert_eq!(
        store.book_missed_transfer_callbacks(now).await.unwrap(),
        0,
        "not before the call's save"
    );

    store
        .save_interrupted_conversation("sid-x", now)
        .await
        .unwrap();
    let (a, b) = (app.fresh_store().await, app.fresh_store().await);
    let (x, y) = tokio::join!(
        a.book_missed_transfer_callbacks(now),
        b.book_missed_transfer_callbacks(now)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1, "booked once");
    assert_eq!(store.book_missed_transfer_callbacks(now).await.unwrap(), 0);
    let page = app.get_json(&format!("/campaigns/{id}/leads")).await;
    assert_eq!(page["items"][0]["status"], "SCHEDULED", "{page}");
    let booked = store.transfer("sid-x").await.unwrap().unwrap();
    assert!(booked.callback_booked_at.is_some(), "{booked:?}");
}
