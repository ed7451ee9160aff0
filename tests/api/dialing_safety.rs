//! At-most-once dialing against an unkind Exotel (issue 9 §1): a dial whose answer we did not
//! see is counted once, never sent again on a guess, and settled by a status callback, by
//! Exotel's call list, or as a no-answer after the retry delay. The simulator logs every
//! request, so "one request per counted attempt" is checked from Exotel's side.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use voice_runtime::actors::campaign_supervisor::WakeAll;
use voice_runtime::clock::Clock;
use voice_runtime::config::ExotelSettings;
use voice_runtime::domain::Phone;
use voice_runtime::sandbox::exotel::DialReply::{self, *};
use voice_runtime::sandbox::exotel::ExotelSimulator;
use voice_runtime::sandbox::exotel::Outcome::{self, *};
use voice_runtime::telephony::exotel::{CallRef, ConnectCall, ExotelClient};

use crate::both_backends;
use crate::engine_support::*;
use crate::helpers::Backend;

/// Dials time out after 1 s; a dial in doubt is first looked up 60 s (of the test clock) later.
const FAST: &[(&str, &str)] = &[("EXOTEL_TIMEOUT_SECONDS", "1")];

/// Connect requests per number, as Exotel saw them.
fn requests_per_number(sim: &ExotelSimulator) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in sim.requests() {
        *counts.entry(r.from).or_insert(0) += 1;
    }
    counts
}

async fn lead_by_phone(e: &EngineApp, id: i64, i: usize) -> serde_json::Value {
    leads(e, id)
        .await
        .into_iter()
        .find(|l| l["phone"] == phone(i))
        .expect("lead")
}

/// Scripts lead i with an unkind first reply, then normal replies.
async fn campaign_with_replies(
    e: &EngineApp,
    replies: &[(Vec<DialReply>, Vec<Outcome>)],
    settings: serde_json::Value,
) -> i64 {
    let id = campaign_with_leads(e, replies.len(), settings, |i| replies[i].1.clone()).await;
    for (i, (script, _)) in replies.iter().enumerate() {
        e.sim.script_replies(&phone(i), script.clone());
    }
    id
}

async fn ambiguous_answers_are_counted_once_and_adopted_from_callbacks(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), FAST).await;
    e.sim.stall_for(Duration::from_secs(3));
    // Each of these places the call but hides it from us; its callbacks carry our CustomField.
    let id = campaign_with_replies(
        &e,
        &[
            (vec![CutBody], vec![Answer]),
            (vec![Stall], vec![Answer]),
            (vec![BadGatewayPlaced], vec![Answer]),
            (vec![TooManyRequests, Normal], vec![Answer]),
        ],
        json!({"max_attempts": 3}),
    )
    .await;
    start(&e, id).await;
    run_to_completion(&e, id).await;
    let requests = requests_per_number(&e.sim);
    for i in 0..3 {
        assert_eq!(
            requests[&phone(i)],
            1,
            "lead {i} was sent twice: {requests:?}"
        );
        let lead = lead_by_phone(&e, id, i).await;
        assert_eq!(lead["status"], "COMPLETED", "{lead}");
        assert_eq!(lead["call_attempts"], 1, "{lead}");
    }
    // A 429 placed nothing: sent again at once, and counted once, when it was placed.
    assert_eq!(requests[&phone(3)], 2, "{requests:?}");
    assert_eq!(lead_by_phone(&e, id, 3).await["call_attempts"], 1);
    assert_eq!(e.sim.dials().len(), 4, "one phone call per lead");
}

async fn max_attempts_holds_when_no_answer_is_ever_readable(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), FAST).await;
    e.sim.stall_for(Duration::from_secs(3));
    let id = campaign_with_replies(
        &e,
        &[
            (vec![BadGatewayNotPlaced], vec![Answer]),
            (vec![CutBody], vec![NoAnswer]),
            (vec![Stall], vec![Busy]),
        ],
        json!({"max_attempts": 3}),
    )
    .await;
    start(&e, id).await;
    run_to_completion(&e, id).await;
    let requests = requests_per_number(&e.sim);
    for i in 0..3 {
        assert_eq!(requests[&phone(i)], 3, "{requests:?}");
        let lead = lead_by_phone(&e, id, i).await;
        assert_eq!(lead["status"], "EXHAUSTED", "{lead}");
        assert_eq!(lead["call_attempts"], 3, "{lead}");
    }
    // The 502 before Exotel never rang anyone; the others rang once per attempt.
    let dials = dials_per_number(&e.sim);
    assert_eq!(dials.get(&phone(0)), None);
    assert_eq!(dials[&phone(1)], 3);
    assert_eq!(dials[&phone(2)], 3);
}

async fn dials_in_doubt_are_settled_from_exotels_call_list(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), FAST).await;
    // No callbacks reach us: only Exotel's call list can settle these dials.
    e.sim.mute_callbacks(true);
    let id = campaign_with_replies(
        &e,
        &[
            // Placed and answered behind a cut 200: adopted, closed as answered.
            (vec![CutBody], vec![Answer]),
            // Nothing placed behind a 502: the list proves it, the next try comes soon.
            (vec![BadGatewayNotPlaced, Normal], vec![Answer]),
        ],
        json!({"max_attempts": 3, "retry_no_answer_minutes": 120}),
    )
    .await;
    start(&e, id).await;
    eventually(
        20,
        "both dials in doubt and the placed call over",
        || async {
            e.sim.requests().len() == 2 && e.sim.live_calls() == 0 && doubts(&e, id).await == 2
        },
    )
    .await;
    // Nothing is dialed again before the lookup.
    e.app.state.campaigns.do_send(WakeAll);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.sim.requests().len(), 2);
    e.sim.mute_callbacks(false);
    e.clock.advance(chrono::Duration::seconds(61));
    e.app.state.campaigns.do_send(WakeAll);
    eventually(20, "settled", || async { doubts(&e, id).await == 0 }).await;
    let placed = lead_by_phone(&e, id, 0).await;
    assert_eq!(placed["status"], "COMPLETED", "{placed}");
    assert_eq!(placed["call_attempts"], 1, "{placed}");
    // The one that never rang was retried a policy minute later, not two hours later.
    e.clock.advance(chrono::Duration::seconds(61));
    e.app.state.campaigns.do_send(WakeAll);
    eventually(20, "the campaign completes", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    let retried = lead_by_phone(&e, id, 1).await;
    assert_eq!(retried["status"], "COMPLETED", "{retried}");
    assert_eq!(
        retried["call_attempts"], 2,
        "a counted attempt stays counted: {retried}"
    );
    let requests = requests_per_number(&e.sim);
    assert_eq!(requests[&phone(0)], 1);
    assert_eq!(requests[&phone(1)], 2);
}

async fn a_dial_that_cannot_be_settled_counts_as_a_no_answer(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), FAST).await;
    e.sim.mute_callbacks(true);
    e.sim.call_list_down(true);
    let id = campaign_with_replies(
        &e,
        &[(vec![CutBody, Normal], vec![NoAnswer, Answer])],
        json!({"max_attempts": 3, "retry_no_answer_minutes": 120}),
    )
    .await;
    start(&e, id).await;
    eventually(20, "the dial is in doubt", || async {
        doubts(&e, id).await == 1 && e.sim.live_calls() == 0
    })
    .await;
    // An hour of failed lookups: still in doubt, never dialed again.
    for _ in 0..6 {
        e.clock.advance(chrono::Duration::minutes(10));
        e.app.state.campaigns.do_send(WakeAll);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(doubts(&e, id).await, 1);
    assert_eq!(e.sim.requests().len(), 1);
    e.sim.mute_callbacks(false);
    // Past the no-answer delay it is a no-answer; the retry rings the phone a second time.
    e.clock.advance(chrono::Duration::minutes(61));
    e.app.state.campaigns.do_send(WakeAll);
    eventually(20, "the campaign completes", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    let lead = lead_by_phone(&e, id, 0).await;
    assert_eq!(lead["call_attempts"], 2, "{lead}");
    assert_eq!(lead["status"], "COMPLETED", "{lead}");
    assert_eq!(e.sim.requests().len(), 2);
}

async fn a_dial_whose_process_died_is_settled_not_redialed(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), FAST).await;
    e.sim.mute_callbacks(true);
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Answer]).await;
    // A process claimed the lead and sent the dial, then died before recording Exotel's 200.
    dial_as_a_process_that_dies(&e, id).await;
    eventually(5, "that call ends", || async { e.sim.live_calls() == 0 }).await;
    e.app.stop.stop().await;
    e.sim.mute_callbacks(false);

    // The node stays down for 40 minutes: the lookup must search around the dial, not now.
    let e2 = restart(&e, FAST).await;
    e2.clock.advance(chrono::Duration::minutes(40));
    start(&e2, id).await;
    eventually(10, "the expired claim is in doubt", || async {
        doubts(&e2, id).await == 1
    })
    .await;
    e2.clock.advance(chrono::Duration::seconds(61));
    e2.app.state.campaigns.do_send(WakeAll);
    eventually(20, "the campaign completes", || async {
        campaign(&e2, id).await["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(e2.sim.requests().len(), 1, "the lead was dialed again");
    let lead = lead_by_phone(&e2, id, 0).await;
    assert_eq!(lead["status"], "COMPLETED", "{lead}");
    assert_eq!(lead["call_attempts"], 1, "{lead}");
}

async fn a_running_dial_is_never_reconciled_however_old_its_lease(backend: Backend) {
    let e = engine_app(
        backend,
        simulator(5, 10),
        &[("EXOTEL_TIMEOUT_SECONDS", "3")],
    )
    .await;
    e.sim.stall_for(Duration::from_secs(2));
    let id = campaign_with_replies(&e, &[(vec![Stall], vec![Answer])], json!({})).await;
    start(&e, id).await;
    eventually(10, "the dial is sent", || async {
        !e.sim.requests().is_empty()
    })
    .await;
    // The claim's lease runs out while its answer is still on its way.
    e.clock.advance(chrono::Duration::minutes(10));
    e.app.state.campaigns.do_send(WakeAll);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        doubts(&e, id).await,
        0,
        "a running dial was taken for a dead one"
    );
    run_to_completion(&e, id).await;
    assert_eq!(e.sim.requests().len(), 1);
    let lead = lead_by_phone(&e, id, 0).await;
    assert_eq!(lead["call_attempts"], 1, "{lead}");
}

async fn an_opt_out_during_the_pacing_wait_stops_the_dial(backend: Backend) {
    // Three claims, paced 2 s apart: the last dial waits ~4 s for its slot.
    let pacing = [("EXOTEL_CALLS_PER_MINUTE", "30")];
    let e = engine_app(backend, simulator(5, 10), &pacing).await;
    let id = campaign_with_leads(&e, 3, json!({}), |_| vec![Answer]).await;
    start(&e, id).await;
    eventually(10, "the first dial", || async {
        !e.sim.requests().is_empty()
    })
    .await;
    let response = e
        .app
        .post("/suppressions")
        .json(&json!({"phone": phone(2), "reason": "asked on another line"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    run_to_completion(&e, id).await;
    let requests = requests_per_number(&e.sim);
    assert_eq!(requests.get(&phone(2)), None, "{requests:?}");
    let lead = lead_by_phone(&e, id, 2).await;
    assert_eq!(lead["call_attempts"], 0, "{lead}");
}

async fn a_window_that_shuts_during_the_pacing_wait_stops_the_dial(backend: Backend) {
    let pacing = [("EXOTEL_CALLS_PER_MINUTE", "30")];
    let e = engine_app(backend, simulator(5, 10), &pacing).await;
    let id = campaign_with_leads(&e, 3, json!({}), |_| vec![Answer]).await;
    start(&e, id).await;
    eventually(10, "the first dial", || async {
        !e.sim.requests().is_empty()
    })
    .await;
    // 19:30 IST: the default window (10-19) shut while two claims wait for their slots.
    e.clock
        .advance(chrono::Duration::hours(8) + chrono::Duration::minutes(30));
    run_to_completion(&e, id).await;
    let window = voice_runtime::telephony::call_outcome::calling_window(
        &e.app.state.store.campaign(id).await.unwrap(),
        e.app.state.settings.calling.regulatory_hours,
    )
    .unwrap();
    for request in e.sim.requests() {
        assert!(window.is_open(request.at), "dialed at {} (UTC)", request.at);
    }
    assert_eq!(e.sim.requests().len(), 3);
    for lead in leads(&e, id).await {
        assert_eq!(lead["call_attempts"], 1, "{lead}");
    }
}

async fn a_shutdown_releases_dials_waiting_for_their_slot(backend: Backend) {
    let pacing = [("EXOTEL_CALLS_PER_MINUTE", "12")];
    let e = engine_app(backend, simulator(5, 10), &pacing).await;
    let id = campaign_with_leads(&e, 3, json!({}), |_| vec![Answer]).await;
    start(&e, id).await;
    eventually(10, "the first dial", || async {
        !e.sim.requests().is_empty()
    })
    .await;
    // Two claims wait 5 and 10 s for their slots; the drain must not wait for them to dial.
    e.app.stop.drain(Duration::from_secs(30)).await;
    assert_eq!(e.sim.requests().len(), 1, "a dial left after the signal");
    assert!(e.app.state.engine.live_dials.is_empty());
    let store = &e.app.fresh_store().await;
    assert!(store.in_flight_attempts(id).await.unwrap().len() <= 1);
    let far = e.clock.now() + chrono::Duration::days(365);
    let doubts = store.due_in_doubt(id, far).await.unwrap().len();
    assert_eq!(doubts, 0, "a released claim cost an attempt");
    let (_, due) = store.pending_summary(id, e.clock.now()).await.unwrap();
    assert_eq!(
        due, 2,
        "the two waiting claims are pending again, uncounted"
    );
}

/// As a process about to die: claims the campaign's one lead and sends its dial to Exotel (the
/// simulator), recording nothing of the answer. Returns the claim and Exotel's answer.
async fn dial_as_a_process_that_dies(
    e: &EngineApp,
    id: i64,
) -> (
    voice_runtime::store::ClaimedCall,
    voice_runtime::telephony::exotel::CallInfo,
) {
    let store = &e.app.state.store;
    let now = e.clock.now();
    store.schedule_new_leads(id, now, 3, now).await.unwrap();
    let claim = store
        .claim_due_calls(
            id,
            now,
            1,
            "test-node",
            now + chrono::Duration::minutes(2),
            &voice_runtime::store::ClaimCaps::campaign(10),
        )
        .await
        .unwrap()
        .remove(0);
    let exotel = ExotelClient::new(e.app.state.settings.exotel.clone()).unwrap();
    let call_ref = CallRef {
        campaign_id: id,
        lead_id: claim.lead_id,
        scheduled_call_id: claim.scheduled_call_id,
        attempt: 1,
    };
    let request = ConnectCall {
        to: Phone::from_trusted(claim.phone.clone()),
        call_ref,
        status_callback: e.app.state.engine.status_callback_url(&call_ref),
        stream_url: String::new(),
        time_limit_seconds: 600,
    };
    let answer = exotel
        .connect(&request)
        .await
        .expect("the dead process's dial");
    (claim, answer)
}

/// The cluster's SIGKILL case (a CI failure): the dead process recorded its dial, the call is
/// still live when another process finds its claim expired, and the call's status callback
/// goes to the dead process. The call is asked about again after `EXOTEL_SETTLE_SECONDS`, not
/// given a whole call's lease (~12 minutes of a campaign that cannot complete).
async fn a_dead_processs_live_call_is_asked_about_again_soon(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), FAST).await;
    e.sim.mute_callbacks(true);
    let id = campaign_with_leads(&e, 1, json!({"max_attempts": 1}), |_| vec![Hold]).await;
    let (claim, answer) = dial_as_a_process_that_dies(&e, id).await;
    let store = &e.app.state.store;
    let lease = e.clock.now() + chrono::Duration::minutes(2);
    store
        .mark_dialed(&claim, id, &answer.sid, lease, e.clock.now())
        .await
        .unwrap();
    e.app.stop.stop().await;

    let e2 = restart(&e, FAST).await;
    e2.clock.advance(chrono::Duration::minutes(3));
    start(&e2, id).await;
    let store = &e2.app.state.store;
    let asked_at = e2.clock.now();
    eventually(10, "the expired claim is checked with Exotel", || async {
        let attempt = store
            .attempt(claim.scheduled_call_id)
            .await
            .unwrap()
            .unwrap();
        attempt.lease_until.is_some_and(|l| l > asked_at)
    })
    .await;
    let attempt = store
        .attempt(claim.scheduled_call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attempt.status, "IN_PROGRESS", "Exotel says it is live");
    let recheck = attempt.lease_until.unwrap() - asked_at;
    assert!(
        recheck <= chrono::Duration::seconds(61),
        "a live call of a dead process waits {recheck} for its next look"
    );

    // The call ends; its callback never comes. The next look closes it.
    e2.sim.release_held();
    eventually(5, "the call ends", || async { e2.sim.live_calls() == 0 }).await;
    e2.clock.advance(chrono::Duration::seconds(61));
    e2.app.state.campaigns.do_send(WakeAll);
    eventually(20, "the campaign completes", || async {
        campaign(&e2, id).await["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(e2.sim.requests().len(), 1, "the lead was dialed again");
}

/// Dials of the campaign in doubt now.
async fn doubts(e: &EngineApp, id: i64) -> usize {
    let far = e.clock.now() + chrono::Duration::days(365);
    e.app.state.store.due_in_doubt(id, far).await.unwrap().len()
}

/// The settings helper must keep reading the timeout (a dial's deadline is what makes a stall
/// ambiguous rather than endless).
#[test]
fn exotel_timeout_is_configurable() {
    let env: HashMap<String, String> = [("EXOTEL_TIMEOUT_SECONDS".to_string(), "3".to_string())]
        .into_iter()
        .collect();
    let settings = voice_runtime::config::Settings::from_map(&env).unwrap();
    let exotel: &ExotelSettings = &settings.exotel;
    assert_eq!(exotel.request_timeout_seconds, 3);
    assert_eq!(exotel.settle_after_seconds, 60);
}

both_backends!(
    ambiguous_answers_are_counted_once_and_adopted_from_callbacks,
    max_attempts_holds_when_no_answer_is_ever_readable,
    dials_in_doubt_are_settled_from_exotels_call_list,
    a_dial_that_cannot_be_settled_counts_as_a_no_answer,
    a_dial_whose_process_died_is_settled_not_redialed,
    a_dead_processs_live_call_is_asked_about_again_soon,
    a_running_dial_is_never_reconciled_however_old_its_lease,
    an_opt_out_during_the_pacing_wait_stops_the_dial,
    a_window_that_shuts_during_the_pacing_wait_stops_the_dial,
    a_shutdown_releases_dials_waiting_for_their_slot,
);
