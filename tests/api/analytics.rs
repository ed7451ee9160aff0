use chrono::{Duration, Utc};
use serde_json::{json, Value};
use voice_runtime::domain::CallStatus;
use voice_runtime::store::{CallEnd, ConversationRecord, NewCallSession};

use crate::both_backends;
use crate::helpers::{error_of, spawn_app, Backend, TestApp};

/// Two leads, three calls: one answered and qualified (60 s), one no-answer, one busy.
pub async fn seed_calls(app: &TestApp) -> i64 {
    let id = app.campaign_id().await;
    app.upload_csv(id, "name,phone\nAnita,9876543210\nBala,9876543211\n")
        .await;
    let leads: Value = app
        .get(&format!("/campaigns/{id}/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anita = leads["items"][0]["id"].as_i64().unwrap();
    let bala = leads["items"][1]["id"].as_i64().unwrap();
    let store = &app.state.store;
    let now = Utc::now();
    let calls = [
        ("CA1", anita, CallStatus::Completed, Some(60)),
        ("CA2", bala, CallStatus::NoAnswer, None),
        ("CA3", bala, CallStatus::Busy, None),
    ];
    for (sid, lead_id, status, duration) in calls {
        let session = store
            .create_call_session(
                &NewCallSession {
                    call_sid: sid.into(),
                    lead_id,
                    campaign_id: id,
                    scheduled_call_id: None,
                    status: CallStatus::Initiated,
                },
                now,
            )
            .await
            .unwrap();
        let end = CallEnd {
            status,
            answered_at: duration.map(|d| now - Duration::seconds(d)),
            ended_at: now,
            duration_seconds: duration,
            recording_url: None,
        };
        assert!(store.finish_call_session(sid, &end).await.unwrap());
        if duration.is_some() {
            let record = ConversationRecord {
                call_session_id: session,
                transcript: json!([
                    {"speaker": "ai", "text": "Hello Anita", "timestamp": now, "interrupted": false},
                    {"speaker": "user", "text": "Hi, a 2BHK in Pune", "timestamp": now, "interrupted": false}
                ]),
                final_outcome: "qualified".into(),
                lead_qualified: Some(true),
                extracted_data: json!({"property_type": "2BHK", "location": "Pune"}),
            };
            store.save_conversation(&record, now).await.unwrap();
        }
    }
    // A late, earlier-stage status never overwrites the end of a call.
    let late = CallEnd {
        status: CallStatus::Ringing,
        answered_at: None,
        ended_at: now,
        duration_seconds: None,
        recording_url: None,
    };
    assert!(!store.finish_call_session("CA1", &late).await.unwrap());
    id
}

async fn empty_campaign_has_zeroes_and_no_rates(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let a: Value = app
        .get(&format!("/analytics/campaign/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["total_leads"], 0);
    assert_eq!(a["total_calls"], 0);
    assert_eq!(a["answered_calls"], 0);
    assert_eq!(a["voicemail_calls"], 0);
    assert_eq!(a["answer_rate"], Value::Null);
    assert_eq!(a["voicemail_rate"], Value::Null);
    assert_eq!(a["average_duration_seconds"], Value::Null);
    assert_eq!(a["qualification_rate"], Value::Null);
    assert_eq!(a["attempts_histogram"], json!([]));
    error_of(
        app.get("/analytics/campaign/999").send().await.unwrap(),
        404,
    )
    .await;
}

async fn figures_match_the_calls_made(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = seed_calls(&app).await;
    let a: Value = app
        .get(&format!("/analytics/campaign/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["total_leads"], 2);
    assert_eq!(a["total_calls"], 3);
    assert_eq!(
        a["calls_by_status"],
        json!([{"key": "BUSY", "count": 1}, {"key": "COMPLETED", "count": 1}, {"key": "NO_ANSWER", "count": 1}])
    );
    assert_eq!(a["answered_calls"], 1);
    assert_eq!(a["voicemail_calls"], 0);
    assert!((a["answer_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(a["voicemail_rate"], 0.0);
    assert_eq!(a["average_duration_seconds"], 60.0);
    assert_eq!(a["qualified_leads"], 1);
    assert_eq!(a["decided_leads"], 1);
    assert_eq!(a["qualification_rate"], 1.0);
    assert_eq!(a["outcomes"], json!([{"key": "qualified", "count": 1}]));
    assert_eq!(a["attempts_histogram"], json!([{"key": "0", "count": 2}]));
}

/// A machine answers like a person at the telephone level (COMPLETED, answered_at set): the
/// figures must still not count it as an answered call.
async fn voicemail_is_counted_apart_from_people(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = seed_calls(&app).await;
    let leads: Value = app
        .get(&format!("/campaigns/{id}/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bala = leads["items"][1]["id"].as_i64().unwrap();
    let store = &app.state.store;
    let now = Utc::now();
    let session = store
        .create_call_session(
            &NewCallSession {
                call_sid: "CA4".into(),
                lead_id: bala,
                campaign_id: id,
                scheduled_call_id: None,
                status: CallStatus::Initiated,
            },
            now,
        )
        .await
        .unwrap();
    let end = CallEnd {
        status: CallStatus::Completed,
        answered_at: Some(now - Duration::seconds(20)),
        ended_at: now,
        duration_seconds: Some(20),
        recording_url: None,
    };
    assert!(store.finish_call_session("CA4", &end).await.unwrap());
    let record = ConversationRecord {
        call_session_id: session,
        transcript: json!([
            {"speaker": "user", "text": "please leave a message after the beep", "timestamp": now, "interrupted": false}
        ]),
        final_outcome: "voicemail".into(),
        lead_qualified: None,
        extracted_data: json!({}),
    };
    store.save_conversation(&record, now).await.unwrap();
    let a: Value = app
        .get(&format!("/analytics/campaign/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["total_calls"], 4);
    assert_eq!(
        a["calls_by_status"],
        json!([{"key": "BUSY", "count": 1}, {"key": "COMPLETED", "count": 2}, {"key": "NO_ANSWER", "count": 1}])
    );
    assert_eq!(a["answered_calls"], 1, "{a}");
    assert_eq!(a["voicemail_calls"], 1, "{a}");
    assert_eq!(a["answer_rate"], 0.25);
    assert_eq!(a["voicemail_rate"], 0.25);
    // The machine's 20 s are not a conversation's length.
    assert_eq!(a["average_duration_seconds"], 60.0);
    assert_eq!(
        a["outcomes"],
        json!([{"key": "qualified", "count": 1}, {"key": "voicemail", "count": 1}])
    );
    // Nobody was qualified or refused by a machine.
    assert_eq!(a["decided_leads"], 1);
}

both_backends!(
    empty_campaign_has_zeroes_and_no_rates,
    figures_match_the_calls_made,
    voicemail_is_counted_apart_from_people
);
