//! The law's hours as a floor under every campaign window (`REGULATORY_HOURS`), transactional
//! campaigns as the one exception, and stored windows that cannot be read failing closed.

use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::actors::campaign_supervisor::WakeAll;
use voice_runtime::sandbox::exotel::Outcome;

use crate::both_backends;
use crate::engine_support::*;
use crate::helpers::{error_of, spawn_app, spawn_app_with, Backend, TestApp};

async fn refused(app: &TestApp, body: Value) -> Value {
    let response = app.post("/campaigns").json(&body).send().await.unwrap();
    error_of(response, 422).await
}

async fn windows_leaving_the_regulatory_hours_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, field) in [
        (
            json!({"name": "x", "calling_hours_start": 8}),
            "calling_hours_start",
        ),
        (
            json!({"name": "x", "calling_hours_end": 22}),
            "calling_hours_end",
        ),
        (
            json!({"name": "x", "calling_hours_start": 0, "calling_hours_end": 24}),
            "calling_hours_start",
        ),
        (
            json!({"name": "x", "calling_hours_start": 20, "calling_hours_end": 10}),
            "calling_hours_end",
        ),
    ] {
        let error = refused(&app, body.clone()).await;
        assert_eq!(error["field"], field, "{body}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("REGULATORY_HOURS") && message.contains("transactional"),
            "{message}"
        );
    }
    // The edge of the floor is inside it.
    let edge = app
        .create_campaign(json!({"name": "edge", "calling_hours_start": 9, "calling_hours_end": 21}))
        .await;
    assert_eq!(edge["transactional"], false);

    // A transactional campaign may call outside it, and may be switched while DRAFT only.
    let service = app
        .create_campaign(json!({"name": "service", "calling_hours_start": 7,
            "calling_hours_end": 23, "transactional": true}))
        .await;
    assert_eq!(service["transactional"], true);
    let id = edge["id"].as_i64().unwrap();
    let later = app
        .patch(&format!("/campaigns/{id}"))
        .json(&json!({"calling_hours_end": 22}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(later, 422).await["field"], "calling_hours_end");
    let switched = app
        .patch(&format!("/campaigns/{id}"))
        .json(&json!({"calling_hours_end": 22, "transactional": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 200);
    let back = app
        .patch(&format!("/campaigns/{}", service["id"]))
        .json(&json!({"transactional": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(back, 422).await["field"], "calling_hours_start");
    let wrong_type = app
        .post("/campaigns")
        .json(&json!({"name": "x", "transactional": "yes"}))
        .send()
        .await
        .unwrap();
    error_of(wrong_type, 400).await;

    // Defaults that leave the floor are refused too, and a wider floor is the operator's call.
    let early = spawn_app_with(backend, &[("CALLING_HOURS_START", "8")]).await;
    assert_eq!(
        refused(&early, json!({"name": "x"})).await["field"],
        "calling_hours_start"
    );
    let open = spawn_app_with(backend, &[("REGULATORY_HOURS", "0-24")]).await;
    open.create_campaign(json!({"name": "x", "calling_hours_start": 0, "calling_hours_end": 24}))
        .await;
}

async fn transactional_cannot_change_once_started(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Outcome::Hold]).await;
    start(&e, id).await;
    let response = e
        .app
        .patch(&format!("/campaigns/{id}"))
        .json(&json!({"transactional": true}))
        .send()
        .await
        .unwrap();
    let error = error_of(response, 409).await;
    assert!(
        error["message"].as_str().unwrap().contains("DRAFT"),
        "{error}"
    );
    assert_eq!(campaign(&e, id).await["transactional"], false);
    e.sim.release_held();
}

/// Rewrites a stored campaign row, as a hand edit or an old version of the runtime might have.
async fn corrupt(e: &EngineApp, sql: &str, id: i64) {
    let url = &e.app.database_url;
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn an_unreadable_stored_window_fails_closed(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 2, json!({}), |_| vec![Outcome::Answer]).await;
    corrupt(
        &e,
        "UPDATE campaigns SET timezone = 'Mars/Olympus' WHERE id = $1",
        id,
    )
    .await;
    start(&e, id).await;
    eventually(10, "the campaign pauses itself", || async {
        campaign(&e, id).await["status"] == "PAUSED"
    })
    .await;
    let reason = campaign(&e, id).await["status_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("time zone") && reason.contains("Mars/Olympus"),
        "{reason}"
    );
    assert!(e.sim.dials().is_empty());

    // Fixed with PATCH and started again, it dials.
    let fixed = e
        .app
        .patch(&format!("/campaigns/{id}"))
        .json(&json!({"timezone": "Asia/Kolkata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), 200);
    start(&e, id).await;
    eventually(20, "completion", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(e.sim.dials().len(), 2);
}

/// A row stored with a window wider than the floor (before it existed, or under a wider
/// REGULATORY_HOURS) still never dials outside it.
async fn a_stored_wide_window_still_waits_for_the_floor(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = campaign_with_leads(&e, 1, json!({}), |_| vec![Outcome::Answer]).await;
    corrupt(
        &e,
        "UPDATE campaigns SET calling_hours_start = 6 WHERE id = $1",
        id,
    )
    .await;
    // Friday 07:00 IST: inside the stored window (06–19), outside the floor (09–21). (Time only
    // moves forward here, as it does for a running node.)
    e.clock.set(weekday_morning() + chrono::Duration::hours(20));
    start(&e, id).await;
    eventually(10, "the campaign waits for its window", || async {
        campaign(&e, id).await["status"] == "SCHEDULED"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(e.sim.dials().is_empty());
    // 09:00 IST.
    e.clock.advance(chrono::Duration::hours(2));
    e.app.state.campaigns.do_send(WakeAll);
    eventually(20, "completion once the floor opens", || async {
        campaign(&e, id).await["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(e.sim.dials().len(), 1);
}

both_backends!(
    windows_leaving_the_regulatory_hours_are_refused,
    transactional_cannot_change_once_started,
    an_unreadable_stored_window_fails_closed,
    a_stored_wide_window_still_waits_for_the_floor,
);
