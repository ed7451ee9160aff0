use serde_json::Value;

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

both_backends!(
    json_export_has_every_call_with_its_transcript,
    csv_export_is_readable,
    empty_and_unknown_exports,
);
