//! `/suppressions`: the node-wide do-not-call list, and what a lead upload does with it.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{error_of, spawn_app, spawn_app_with, Backend};

async fn suppressions_are_added_listed_and_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let added = app
        .post("/suppressions")
        .json(&json!({"phone": "098765 43210", "reason": "asked by e-mail"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let entry: Value = added.json().await.unwrap();
    assert_eq!(entry["phone"], "+919876543210");
    assert_eq!(entry["reason"], "asked by e-mail");
    assert_eq!(entry["source"], "api");
    assert!(entry["created_at"].is_string());

    // Another spelling of the same number: the entry already there is kept.
    let again = app
        .post("/suppressions")
        .json(&json!({"phone": "+91 98765-43210", "reason": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), entry);

    // Any valid number may be suppressed, not only ALLOWED_COUNTRY_CODES; the reason is optional.
    for phone in ["+1 415 555 0100", "9876543211"] {
        let r = app
            .post("/suppressions")
            .json(&json!({ "phone": phone }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{phone}");
    }
    let bad = app
        .post("/suppressions")
        .json(&json!({"phone": "12345"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(bad, 422).await["field"], "phone");
    let long = app
        .post("/suppressions")
        .json(&json!({"phone": "9876543212", "reason": "x".repeat(501)}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(long, 422).await["field"], "reason");
    let missing = app
        .post("/suppressions")
        .json(&json!({"reason": "no phone"}))
        .send()
        .await
        .unwrap();
    error_of(missing, 400).await;

    let page: Value = app
        .get("/suppressions?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["limit"], 2);
    let bad_page = app.get("/suppressions?limit=abc").send().await.unwrap();
    error_of(bad_page, 400).await;

    let removed = app
        .delete("/suppressions/09876543210")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let gone = app.delete("/suppressions/9876543210").send().await.unwrap();
    error_of(gone, 404).await;
    let nonsense = app.delete("/suppressions/nonsense").send().await.unwrap();
    assert_eq!(error_of(nonsense, 422).await["field"], "phone");
    let page: Value = app
        .get("/suppressions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
}

async fn a_suppression_list_is_uploaded_as_csv(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post("/suppressions")
        .json(&json!({"phone": "9876543213"}))
        .send()
        .await
        .unwrap();
    let csv = "Phone Number,Reason\r\n\
        +91 98765 43210,complained\r\n\
        09876543210,\r\n\
        12345,typo\r\n\
        9876543213,\r\n\
        ,\r\n\
        +44 20 7946 0958,\r\n";
    let response = app
        .post("/suppressions/upload-csv")
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["accepted"], 2, "{report}");
    assert_eq!(report["already_suppressed"], 1, "{report}");
    assert_eq!(report["duplicates_in_file"], 1, "{report}");
    assert_eq!(report["rejected_count"], 1, "{report}");
    assert_eq!(report["rejected"][0]["row"], 4, "{report}");
    let page: Value = app
        .get("/suppressions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    let complained = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["phone"] == "+919876543210")
        .cloned()
        .unwrap();
    assert_eq!(complained["reason"], "complained");
    assert_eq!(complained["source"], "csv");

    let no_phone = app
        .post("/suppressions/upload-csv")
        .header("Content-Type", "text/csv")
        .body("name,reason\nA,x\n")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(no_phone, 422).await["field"], "file");
    let wrong_type = app
        .post("/suppressions/upload-csv")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    error_of(wrong_type, 415).await;
}

async fn lead_uploads_leave_out_suppressed_and_foreign_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post("/suppressions")
        .json(&json!({"phone": "+919876543210", "reason": "asked on a call"}))
        .send()
        .await
        .unwrap();
    let id = app.campaign_id().await;
    let csv = "name,phone\n\
        Ravi,098765 43210\n\
        Sam,+1 415 555 0100\n\
        Priya,9876543211\n\
        Bad,12345\n";
    let (status, report) = app.upload_csv(id, csv).await;
    assert_eq!(status, 200);
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(report["suppressed"], 1, "{report}");
    assert_eq!(report["suppressed_rows"][0]["row"], 2, "{report}");
    let why = report["suppressed_rows"][0]["reason"].as_str().unwrap();
    assert!(
        why.contains("do-not-call") && why.contains("asked on a call"),
        "{why}"
    );
    let rows: Vec<i64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, vec![3, 5], "{report}");
    assert!(
        report["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ALLOWED_COUNTRY_CODES (+91)"),
        "{report}"
    );
    let campaign: Value = app
        .get(&format!("/campaigns/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(campaign["total_leads"], 1);

    // Other destinations are accepted once the operator allows them.
    let abroad = spawn_app_with(backend, &[("ALLOWED_COUNTRY_CODES", "91,1")]).await;
    let id = abroad.campaign_id().await;
    let (_, report) = abroad
        .upload_csv(
            id,
            "name,phone\nSam,+1 415 555 0100\nLee,+44 20 7946 0958\n",
        )
        .await;
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(report["rejected"][0]["row"], 3, "{report}");
}

both_backends!(
    suppressions_are_added_listed_and_removed,
    a_suppression_list_is_uploaded_as_csv,
    lead_uploads_leave_out_suppressed_and_foreign_numbers,
);
