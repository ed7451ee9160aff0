use chrono::Utc;
use serde_json::{json, Value};
use voice_runtime::domain::CampaignStatus;

use crate::both_backends;
use crate::helpers::{error_of, spawn_app, Backend};

async fn create_fills_defaults_from_configuration(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app
        .create_campaign(json!({"name": "  Diwali leads  "}))
        .await;
    assert_eq!(campaign["name"], "Diwali leads");
    assert_eq!(campaign["status"], "DRAFT");
    assert_eq!(campaign["playbook"], "real_estate_en.yaml");
    assert_eq!(campaign["calling_hours_start"], 10);
    assert_eq!(campaign["calling_hours_end"], 19);
    assert_eq!(campaign["timezone"], "Asia/Kolkata");
    assert_eq!(campaign["calling_days"], "Mon,Tue,Wed,Thu,Fri,Sat");
    assert_eq!(campaign["max_concurrent_calls"], 10);
    assert_eq!(campaign["max_attempts"], 3);
    assert_eq!(campaign["retry_no_answer_minutes"], 120);
    assert_eq!(campaign["retry_busy_minutes"], 240);
    assert_eq!(campaign["retry_voicemail_minutes"], 120);
    assert_eq!(campaign["total_leads"], 0);
    let id = campaign["id"].as_i64().unwrap();
    let fetched: Value = app
        .get(&format!("/campaigns/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, campaign);
}

async fn create_accepts_every_setting(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app
        .create_campaign(json!({
            "name": "Night shift", "playbook": "real_estate_en", "calling_hours_start": 22,
            "calling_hours_end": 2, "timezone": "America/New_York", "calling_days": "fri-mon",
            "max_concurrent_calls": 25, "max_attempts": 5, "retry_no_answer_minutes": 30,
            "retry_busy_minutes": 60, "retry_voicemail_minutes": 45, "transactional": true
        }))
        .await;
    assert_eq!(campaign["retry_voicemail_minutes"], 45);
    assert_eq!(campaign["transactional"], true);
    assert_eq!(campaign["calling_days"], "Mon,Fri,Sat,Sun");
    assert_eq!(campaign["calling_hours_start"], 22);
    assert_eq!(campaign["timezone"], "America/New_York");
    assert_eq!(campaign["max_attempts"], 5);
}

async fn invalid_settings_are_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": "  "}), "name"),
        (
            json!({"name": "x", "calling_hours_end": 25}),
            "calling_hours_end",
        ),
        (
            json!({"name": "x", "calling_hours_start": 10, "calling_hours_end": 10}),
            "calling_hours_end",
        ),
        (json!({"name": "x", "timezone": "Mars/Olympus"}), "timezone"),
        (
            json!({"name": "x", "calling_days": "Funday"}),
            "calling_days",
        ),
        (json!({"name": "x", "playbook": "nope"}), "playbook"),
        (
            json!({"name": "x", "playbook": "../Cargo.toml"}),
            "playbook",
        ),
        (
            json!({"name": "x", "max_concurrent_calls": 0}),
            "max_concurrent_calls",
        ),
        (json!({"name": "x", "max_attempts": 99}), "max_attempts"),
        (
            json!({"name": "x", "retry_voicemail_minutes": 43_201}),
            "retry_voicemail_minutes",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/campaigns").json(&body).send().await.unwrap();
        let error = error_of(response, 422).await;
        assert_eq!(error["field"], field, "{body}");
    }
}

async fn malformed_json_and_wrong_types_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let syntax = app
        .post("/campaigns")
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(syntax, 400).await["code"], "bad_request");
    let wrong_type = app
        .post("/campaigns")
        .json(&json!({"name": "x", "max_concurrent_calls": "ten"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(wrong_type, 400).await["field"],
        "max_concurrent_calls"
    );
    let negative = app
        .post("/campaigns")
        .json(&json!({"name": "x", "max_attempts": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(negative, 400).await["field"], "max_attempts");
    let negative_wait = app
        .post("/campaigns")
        .json(&json!({"name": "x", "retry_voicemail_minutes": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(negative_wait, 400).await["field"],
        "retry_voicemail_minutes"
    );
    let unknown = app
        .post("/campaigns")
        .json(&json!({"name": "x", "colour": "blue"}))
        .send()
        .await
        .unwrap();
    error_of(unknown, 400).await;
    let not_json = app
        .post("/campaigns")
        .header("Content-Type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    error_of(not_json, 415).await;
    let huge = app
        .post("/campaigns")
        .header("Content-Type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap();
    error_of(huge, 413).await;
}

async fn list_is_paginated_with_a_total(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        app.create_campaign(json!({"name": format!("c{i}")})).await;
    }
    let page: Value = app
        .get("/campaigns?limit=2&offset=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 5);
    assert_eq!(page["limit"], 2);
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["c3", "c2"]);
    let bad = app.get("/campaigns?limit=abc").send().await.unwrap();
    assert_eq!(error_of(bad, 400).await["field"], "limit");
    let too_many = app.get("/campaigns?limit=100000").send().await.unwrap();
    assert_eq!(error_of(too_many, 422).await["field"], "limit");
}

async fn unknown_and_malformed_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    error_of(app.get("/campaigns/999").send().await.unwrap(), 404).await;
    error_of(app.get("/campaigns/abc").send().await.unwrap(), 400).await;
    let patch = app
        .patch("/campaigns/999")
        .json(&json!({"name": "y"}))
        .send()
        .await
        .unwrap();
    error_of(patch, 404).await;
}

async fn patch_edits_and_validates_the_merged_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let updated: Value = app
        .patch(&format!("/campaigns/{id}"))
        .json(
            &json!({"name": "Renamed", "calling_hours_end": 21, "max_concurrent_calls": 3,
            "retry_voicemail_minutes": 0}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["calling_hours_end"], 21);
    assert_eq!(updated["calling_hours_start"], 10);
    assert_eq!(updated["max_concurrent_calls"], 3);
    assert_eq!(updated["retry_voicemail_minutes"], 0);
    // Start 21 with the stored end 21 would be an empty window.
    let empty = app
        .patch(&format!("/campaigns/{id}"))
        .json(&json!({"calling_hours_start": 21}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(empty, 422).await["field"], "calling_hours_end");
}

async fn a_completed_campaign_is_read_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let store = &app.state.store;
    store
        .transition_campaign(id, CampaignStatus::Running, Utc::now())
        .await
        .unwrap();
    store
        .transition_campaign(id, CampaignStatus::Completed, Utc::now())
        .await
        .unwrap();
    let patch = app
        .patch(&format!("/campaigns/{id}"))
        .json(&json!({"name": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(patch, 409).await["code"], "conflict");
    let (status, _) = app.upload_csv(id, "name,phone\nA,9876543210\n").await;
    assert_eq!(status, 409);
    // The lifecycle refuses illegal moves in the store too.
    assert!(store
        .transition_campaign(id, CampaignStatus::Running, Utc::now())
        .await
        .is_err());
}

both_backends!(
    create_fills_defaults_from_configuration,
    create_accepts_every_setting,
    invalid_settings_are_422_naming_the_field,
    malformed_json_and_wrong_types_are_400,
    list_is_paginated_with_a_total,
    unknown_and_malformed_ids,
    patch_edits_and_validates_the_merged_window,
    a_completed_campaign_is_read_only,
);
