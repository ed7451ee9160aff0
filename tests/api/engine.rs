//! The campaign engine end to end: the real app dialing a simulated Exotel.

use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::actors::campaign_actor::ProviderRefused;
use voice_runtime::actors::campaign_supervisor::WakeAll;
use voice_runtime::clock::Clock;
use voice_runtime::domain::CampaignStatus;
use voice_runtime::sandbox::exotel::Outcome::{self, *};

use crate::both_backends;
use crate::engine_support::*;
use crate::helpers::{error_of, Backend};

/// Lead i's script by i % 5, and the attempts and end state it leads to.
fn mixed(i: usize) -> (Vec<Outcome>, i64, &'static str) {
    match i % 5 {
        0 => (vec![Answer], 1, "COMPLETED"),
        1 => (vec![Busy, Answer], 2, "COMPLETED"),
        2 => (vec![NoAnswer], 3, "EXHAUSTED"),
        3 => (vec![Failed, Answer], 2, "COMPLETED"),
        _ => (vec![NoAnswer, Busy, Answer], 3, "COMPLETED"),
    }
}

async fn a_mixed_campaign_runs_to_completed(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 50, json!({"max_concurrent_calls": 5}), |i| mixed(i).0).await;
    start(&e, id).await;
    run_to_completion(&e, id).await;

    let c = campaign(&e, id).await;
    assert_eq!(c["status"], "COMPLETED");
    assert_eq!(c["leads_called"], 50);
    assert_eq!(c["leads_completed"], 50);
    let per_number = dials_per_number(&e.sim);
    for lead in leads(&e, id).await {
        let i: usize = lead["name"].as_str().unwrap()[5..].parse().unwrap();
        let (_, attempts, status) = mixed(i);
        assert_eq!(lead["call_attempts"], attempts, "{lead}");
        assert_eq!(lead["status"], status, "{lead}");
        assert_eq!(per_number[&phone(i)] as i64, attempts, "{lead}");
    }
    assert!(
        e.sim.max_concurrent() <= 5,
        "max {}",
        e.sim.max_concurrent()
    );
    let a: Value = e
        .app
        .get(&format!("/analytics/campaign/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["total_calls"], 10 + 20 + 30 + 20 + 30);
    assert_eq!(
        a["calls_by_status"],
        json!([
            {"key": "BUSY", "count": 20}, {"key": "COMPLETED", "count": 40},
            {"key": "FAILED", "count": 10}, {"key": "NO_ANSWER", "count": 40}
        ])
    );
}

async fn concurrency_never_exceeds_the_caps(backend: Backend) {
    let e = engine_app(backend, simulator(5, 150), &[("MAX_CONCURRENT_CALLS", "4")]).await;
    let a = campaign_with_leads(&e, 12, json!({"max_concurrent_calls": 3}), |_| vec![Answer]).await;
    let b = campaign_with_leads(&e, 12, json!({"max_concurrent_calls": 3}), |_| vec![Answer]).await;
    start(&e, a).await;
    start(&e, b).await;
    eventually(30, "both campaigns complete", || async {
        campaign(&e, a).await["status"] == "COMPLETED"
            && campaign(&e, b).await["status"] == "COMPLETED"
    })
    .await;
    let max = e.sim.max_concurrent();
    assert!(max <= 4, "node cap exceeded: {max}");
    assert!(max >= 3, "calls were not placed in parallel: {max}");
}

async fn pause_stops_new_dials_and_start_resumes(backend: Backend) {
    let e = engine_app(backend, simulator(5, 200), &[]).await;
    let id =
        campaign_with_leads(&e, 10, json!({"max_concurrent_calls": 2}), |_| vec![Answer]).await;
    start(&e, id).await;
    eventually(10, "two dials", || async { e.sim.dials().len() >= 2 }).await;
    let paused = e
        .app
        .post(&format!("/campaigns/{id}/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    let at_pause = e.sim.dials().len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Calls in progress finished; none was added (a dial already on the wire may complete).
    assert!(e.sim.dials().len() <= at_pause + 2);
    let after = e.sim.dials().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(e.sim.dials().len(), after, "dialing went on after pause");
    assert_eq!(campaign(&e, id).await["status"], "PAUSED");
    assert_eq!(e.sim.live_calls(), 0);
    start(&e, id).await;
    eventually(30, "completion after resume", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    assert!(dials_per_number(&e.sim).values().all(|n| *n == 1));
}

async fn webhooks_are_idempotent_and_order_tolerant(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Hold]).await;
    start(&e, id).await;
    eventually(10, "the call is answered", || async {
        e.app
            .state
            .engine
            .registry
            .list()
            .first()
            .is_some_and(|c| c.status.as_str() == "IN_PROGRESS")
    })
    .await;
    let sid = e.sim.dials()[0].call_sid.clone();
    let url = "/webhooks/exotel/call-status?token=test-secret";
    let completed = json!({"CallSid": sid, "Status": "completed", "EventType": "terminal", "ConversationDuration": 42});
    let first: Value = e
        .app
        .client
        .post(e.app.url(url))
        .json(&completed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["result"], "ended");
    let again: Value = e
        .app
        .client
        .post(e.app.url(url))
        .json(&completed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["result"], "ignored");
    // A late ringing, form-encoded as Exotel sends by default.
    let late = e
        .app
        .client
        .post(e.app.url(url))
        .form(&[("CallSid", sid.as_str()), ("Status", "ringing")])
        .send()
        .await
        .unwrap();
    assert_eq!(late.json::<Value>().await.unwrap()["result"], "ignored");
    // A late busy in multipart form changes nothing either.
    let form = reqwest::multipart::Form::new()
        .text("CallSid", sid.clone())
        .text("Status", "busy");
    let busy: Value = e
        .app
        .client
        .post(e.app.url(url))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(busy["result"], "ignored");
    e.sim.release_held();

    let exported: Vec<Value> = e
        .app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["status"], "COMPLETED");
    assert_eq!(exported[0]["duration_seconds"], 42);
    let lead = &leads(&e, id).await[0];
    assert_eq!(lead["call_attempts"], 1);
    assert_eq!(lead["status"], "COMPLETED");
    eventually(10, "completion", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
}

async fn webhook_bad_input(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let client = &e.app.client;
    let body = json!({"CallSid": "nope", "Status": "completed"});
    let no_token = client
        .post(e.app.url("/webhooks/exotel/call-status"))
        .json(&body)
        .send()
        .await
        .unwrap();
    error_of(no_token, 401).await;
    let wrong = client
        .post(e.app.url("/webhooks/exotel/call-status?token=guess"))
        .json(&body)
        .send()
        .await
        .unwrap();
    error_of(wrong, 401).await;
    let url = e.app.url("/webhooks/exotel/call-status?token=test-secret");
    let unknown: Value = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["result"], "unknown_call");
    let odd: Value = client
        .post(&url)
        .json(&json!({"CallSid": "x", "Status": "exploded"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(odd["result"], "ignored");
    let missing = client
        .post(&url)
        .json(&json!({"Status": "completed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(missing, 400).await["field"], "CallSid");
    let garbage = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    error_of(garbage, 400).await;
}

async fn exotel_errors_are_retried_or_final(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    // 429s place nothing: retried at once, uncounted (5xx are ambiguous: tests/api/dialing_safety.rs).
    e.sim.inject_failures(&[429, 429, 429]);
    let id = campaign_with_leads(&e, 2, json!({}), |i| {
        if i == 0 {
            vec![Answer]
        } else {
            vec![Reject]
        }
    })
    .await;
    start(&e, id).await;
    eventually(30, "completion", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    let leads = leads(&e, id).await;
    assert_eq!(leads[0]["status"], "COMPLETED");
    assert_eq!(leads[0]["call_attempts"], 1);
    // A refused number is a permanent failure: one attempt, no retry.
    assert_eq!(leads[1]["status"], "FAILED");
    assert_eq!(leads[1]["call_attempts"], 1);
    assert_eq!(e.sim.dials().len(), 1);
}

/// A provider refusal from a call no campaign actor of this node dials (an adopted call)
/// still pauses the campaign in the database, where every node reads it.
async fn a_refusal_without_a_campaign_actor_pauses_it_in_the_database(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Answer]).await;
    let store = &e.app.state.store;
    // Running as another node left it; no actor for it here.
    store
        .transition_campaign(id, CampaignStatus::Running, e.clock.now())
        .await
        .unwrap();
    let reason = "openai refused the API key (401)".to_string();
    let refused = ProviderRefused {
        campaign_id: id,
        reason: reason.clone(),
    };
    e.app.state.campaigns.send(refused).await.unwrap();
    eventually(10, "the campaign pauses", || async {
        campaign(&e, id).await["status"] == "PAUSED"
    })
    .await;
    assert_eq!(campaign(&e, id).await["status_reason"], reason.as_str());
    // Refused again once paused: nothing to do, nothing broken.
    let again = ProviderRefused {
        campaign_id: id,
        reason: "again".into(),
    };
    e.app.state.campaigns.send(again).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(campaign(&e, id).await["status_reason"], reason.as_str());
    assert!(e.sim.dials().is_empty());
}

async fn wrong_credentials_pause_the_campaign_and_lose_nothing(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[("EXOTEL_API_TOKEN", "wrong")]).await;
    let id = campaign_with_leads(&e, 3, json!({}), |_| vec![Answer]).await;
    start(&e, id).await;
    eventually(10, "the campaign pauses itself", || async {
        campaign(&e, id).await["status"] == "PAUSED"
    })
    .await;
    let reason = campaign(&e, id).await["status_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("credentials"), "{reason}");
    assert!(!reason.contains("wrong"), "a credential leaked: {reason}");
    assert!(e.sim.dials().is_empty());
    for lead in leads(&e, id).await {
        assert_eq!(lead["status"], "SCHEDULED");
        assert_eq!(lead["call_attempts"], 0);
    }
}

async fn outside_calling_hours_nothing_is_dialed(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    // Sunday 2026-11-29 12:00 IST: the default window (Mon-Sat) is closed.
    e.clock.set(weekday_morning() + chrono::Duration::days(3));
    let id = campaign_with_leads(&e, 3, json!({}), |_| vec![Answer]).await;
    start(&e, id).await;
    eventually(10, "the campaign waits for its window", || async {
        campaign(&e, id).await["status"] == "SCHEDULED"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(e.sim.dials().is_empty());
    // Monday 10:00 IST.
    e.clock
        .set(weekday_morning() + chrono::Duration::days(4) - chrono::Duration::hours(1));
    e.app.state.campaigns.do_send(WakeAll);
    eventually(20, "completion on Monday", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(e.sim.dials().len(), 3);
}

/// The window closes while the last call is live: the campaign waits (SCHEDULED), and when
/// the call ends there is nothing left to wait for. It completes; it once failed every round
/// instead ("a SCHEDULED campaign cannot become COMPLETED") and stayed SCHEDULED.
async fn the_window_closing_on_the_last_call_still_completes(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Hold]).await;
    start(&e, id).await;
    eventually(10, "the call is live", || async { e.sim.live_calls() == 1 }).await;
    // 20:00 IST: the default window (10:00-19:00) is closed.
    e.clock.set(weekday_morning() + chrono::Duration::hours(9));
    e.app.state.campaigns.do_send(WakeAll);
    eventually(10, "the campaign waits for its window", || async {
        campaign(&e, id).await["status"] == "SCHEDULED"
    })
    .await;
    e.sim.release_held();
    eventually(10, "completion outside the window", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(e.sim.dials().len(), 1);
}

async fn a_restart_mid_campaign_dials_nobody_twice_and_loses_no_one(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 12, json!({"max_concurrent_calls": 4}), |i| {
        if i < 4 {
            vec![Hold]
        } else {
            vec![Answer]
        }
    })
    .await;
    start(&e, id).await;
    eventually(10, "four calls on the line", || async {
        e.app.state.engine.registry.len() == 4
    })
    .await;
    // The process dies; meanwhile the held calls end and their callbacks are lost.
    e.app.stop.stop().await;
    e.sim.mute_callbacks(true);
    e.sim.release_held();
    eventually(5, "held calls end", || async { e.sim.live_calls() == 0 }).await;
    e.sim.mute_callbacks(false);

    let e2 = restart(&e, &[]).await;
    // The four calls' leases run out; reconciliation asks Exotel how they ended.
    e2.clock.advance(chrono::Duration::minutes(30));
    e2.app.state.campaigns.do_send(WakeAll);
    eventually(30, "completion after restart", || async {
        campaign(&e2, id).await["status"] == "COMPLETED"
    })
    .await;
    let per_number = dials_per_number(&e2.sim);
    assert_eq!(per_number.len(), 12);
    assert!(per_number.values().all(|n| *n == 1), "{per_number:?}");
    for lead in leads(&e2, id).await {
        assert_eq!(lead["status"], "COMPLETED", "{lead}");
        assert_eq!(lead["call_attempts"], 1, "{lead}");
    }
}

async fn a_call_answered_while_the_node_was_down_is_interrupted_not_completed(backend: Backend) {
    // A webhook nobody listens at: the event is queued all the same.
    let hook = [("OUTBOUND_WEBHOOK_SECRET", "engine-test-webhook-secret")];
    let e = engine_app(backend, simulator(5, 10), &hook).await;
    let settings = json!({"max_attempts": 3, "webhook_url": "http://127.0.0.1:9/hook"});
    let id = campaign_with_leads(&e, 1, settings, |_| vec![Hold, Answer]).await;
    start(&e, id).await;
    eventually(10, "the call is on the line", || async {
        e.app.state.engine.registry.len() == 1
    })
    .await;
    // The node dies before the call's audio reached it; the call ends, its callback is lost.
    e.app.stop.stop().await;
    e.sim.mute_callbacks(true);
    e.sim.release_held();
    eventually(5, "the call ends", || async { e.sim.live_calls() == 0 }).await;
    e.sim.mute_callbacks(false);
    e.clock.advance(chrono::Duration::minutes(1));

    let e2 = restart(&e, &hook).await;
    e2.clock.advance(chrono::Duration::minutes(30));
    e2.app.state.campaigns.do_send(WakeAll);
    // Exotel says "completed", yet nobody heard a word: not a finished lead.
    run_to_completion(&e2, id).await;
    let lead = &leads(&e2, id).await[0];
    assert_eq!(lead["call_attempts"], 2, "{lead}");
    assert_eq!(lead["status"], "COMPLETED", "{lead}");
    let calls: Value = e2
        .app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["final_outcome"].as_str().unwrap_or("none"))
        .collect();
    assert!(outcomes.contains(&"interrupted"), "{calls}");
    // The operator's systems hear of the lost conversation too.
    let deliveries = e2
        .app
        .state
        .store
        .webhook_deliveries(id, 10, 0)
        .await
        .unwrap();
    let recovered: Vec<Value> = deliveries
        .iter()
        .map(|d| serde_json::from_str(&d.payload).unwrap())
        .filter(|p: &Value| p["outcome"] == "interrupted")
        .collect();
    assert_eq!(recovered.len(), 1, "{deliveries:?}");
    assert_eq!(recovered[0]["recovered_after_restart"], true);
    let sid = recovered[0]["call_sid"].as_str().unwrap();
    let about_it = deliveries
        .iter()
        .filter(|d| d.payload.contains(sid))
        .count();
    assert_eq!(
        about_it, 1,
        "one event for the lost call, not two: {deliveries:?}"
    );
}

async fn start_and_pause_refuse_what_cannot_be(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let empty = e.app.campaign_id().await;
    let no_leads = e
        .app
        .post(&format!("/campaigns/{empty}/start"))
        .send()
        .await
        .unwrap();
    error_of(no_leads, 422).await;
    let draft_pause = e
        .app
        .post(&format!("/campaigns/{empty}/pause"))
        .send()
        .await
        .unwrap();
    error_of(draft_pause, 409).await;
    error_of(
        e.app.post("/campaigns/999/start").send().await.unwrap(),
        404,
    )
    .await;

    let unconfigured = crate::helpers::spawn_app(backend).await;
    let id = unconfigured.campaign_id().await;
    unconfigured
        .upload_csv(id, "name,phone\nA,9876543210\n")
        .await;
    let response = unconfigured
        .post(&format!("/campaigns/{id}/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response, 422).await["field"], "EXOTEL_ACCOUNT_SID");
}

async fn debug_endpoints_show_live_calls_and_actors(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 2, json!({"max_concurrent_calls": 2}), |_| vec![Hold]).await;
    start(&e, id).await;
    eventually(10, "two live calls", || async {
        e.app.state.engine.registry.len() == 2
    })
    .await;
    let sessions: Value = e
        .app
        .get("/debug/sessions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["count"], 2);
    assert_eq!(sessions["sessions"][0]["campaign_id"], id);
    let actors: Value = e
        .app
        .get("/debug/actors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let campaigns = &actors["children"][0]["state"]["campaigns"];
    assert_eq!(campaigns[0]["campaign_id"], id);
    assert_eq!(campaigns[0]["tokens_in_use"], 2);
    e.sim.release_held();
    eventually(10, "completion", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    let sessions: Value = e
        .app
        .get("/debug/sessions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["count"], 0);
}

both_backends!(
    a_mixed_campaign_runs_to_completed,
    concurrency_never_exceeds_the_caps,
    pause_stops_new_dials_and_start_resumes,
    webhooks_are_idempotent_and_order_tolerant,
    webhook_bad_input,
    exotel_errors_are_retried_or_final,
    wrong_credentials_pause_the_campaign_and_lose_nothing,
    a_refusal_without_a_campaign_actor_pauses_it_in_the_database,
    outside_calling_hours_nothing_is_dialed,
    the_window_closing_on_the_last_call_still_completes,
    a_restart_mid_campaign_dials_nobody_twice_and_loses_no_one,
    a_call_answered_while_the_node_was_down_is_interrupted_not_completed,
    start_and_pause_refuse_what_cannot_be,
    debug_endpoints_show_live_calls_and_actors,
);
