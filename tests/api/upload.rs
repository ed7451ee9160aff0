use serde_json::Value;

use crate::both_backends;
use crate::helpers::{error_of, spawn_app, spawn_app_with, Backend};

const MESSY: &str =
    "\u{feff}Full Name , PHONE number,Email,property type,Location,Budget,Preferred Time\r\n\
\"Sharma, Ravi\",+91 98765 43210,ravi@example.com,2BHK,\"Pune\r\nBaner\",80L,evening\r\n\
प्रिया वर्मा,09876501234,,villa,Noida,1.2 Cr,\r\n\
No Phone,,,,,,\r\n\
Bad Phone,12345,,,,,\r\n\
Same Ravi,98765-43210,,,,,\r\n";

async fn multipart_upload_imports_a_messy_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let part = reqwest::multipart::Part::bytes(MESSY.as_bytes().to_vec())
        .file_name("leads.csv")
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part("file", part);
    let response = app
        .post(&format!("/campaigns/{id}/upload-csv"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["duplicates"], 1);
    let rejected = report["rejected"].as_array().unwrap();
    let rows: Vec<i64> = rejected
        .iter()
        .map(|r| r["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, vec![4, 5]);
    assert!(rejected[0]["reason"].as_str().unwrap().contains("phone"));

    let leads: Value = app
        .get(&format!("/campaigns/{id}/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(leads["total"], 2);
    let ravi = &leads["items"][0];
    assert_eq!(ravi["name"], "Sharma, Ravi");
    assert_eq!(ravi["phone"], "+919876543210");
    assert_eq!(ravi["location"], "Pune\r\nBaner");
    assert_eq!(ravi["attributes"]["preferred_time"], "evening");
    assert_eq!(ravi["status"], "NEW");
    assert_eq!(leads["items"][1]["name"], "प्रिया वर्मा");
    let campaign: Value = app
        .get(&format!("/campaigns/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(campaign["total_leads"], 2);
}

async fn second_upload_skips_leads_already_present(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let (status, _) = app
        .upload_csv(id, "name,phone\nA,9876543210\nB,9876543211\n")
        .await;
    assert_eq!(status, 200);
    let (status, report) = app
        .upload_csv(id, "name,phone\nA again,+919876543210\nC,9876543212\n")
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["accepted"], 1);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["duplicates_existing"], 1);
    let campaign: Value = app
        .get(&format!("/campaigns/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(campaign["total_leads"], 3);
}

async fn files_that_are_not_lead_lists_are_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    for (body, needle) in [
        ("email,location\na@b.c,Pune\n", "phone"),
        ("phone\n9876543210\n", "name"),
        ("", "empty"),
        ("{\"leads\": [1, 2, 3]}", "name"),
    ] {
        let (status, report) = app.upload_csv(id, body).await;
        assert_eq!(status, 422, "{body:?}");
        assert_eq!(report["error"]["field"], "file");
        assert!(
            report["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{report}"
        );
    }
    let png = app
        .post(&format!("/campaigns/{id}/upload-csv"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff, 0xfe,
        ])
        .send()
        .await
        .unwrap();
    assert!(error_of(png, 422).await["message"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
    let json = app
        .post(&format!("/campaigns/{id}/upload-csv"))
        .header("Content-Type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    error_of(json, 415).await;
    let form = reqwest::multipart::Form::new().text("other", "name,phone\n");
    let no_file = app
        .post(&format!("/campaigns/{id}/upload-csv"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(no_file, 422).await["field"], "file");
    // Nothing was imported by any of these.
    let campaign: Value = app
        .get(&format!("/campaigns/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(campaign["total_leads"], 0);
}

async fn oversize_uploads_are_413(backend: Backend) {
    let app = spawn_app_with(backend, &[("MAX_UPLOAD_MB", "1")]).await;
    let id = app.campaign_id().await;
    let mut big = String::from("name,phone\n");
    while big.len() < 1_100_000 {
        big.push_str("Somebody With A Long Name,9876543210\n");
    }
    let (status, report) = app.upload_csv(id, &big).await;
    assert_eq!(status, 413);
    assert_eq!(report["error"]["code"], "payload_too_large");
    // A chunked body declares no length; it is cut off at the limit all the same.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let response = app
        .post(&format!("/campaigns/{id}/upload-csv"))
        .header("Content-Type", "text/csv")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

async fn uploads_to_unknown_campaigns_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, report) = app.upload_csv(4242, "name,phone\nA,9876543210\n").await;
    assert_eq!(status, 404);
    assert_eq!(report["error"]["code"], "not_found");
}

both_backends!(
    multipart_upload_imports_a_messy_file,
    second_upload_skips_leads_already_present,
    files_that_are_not_lead_lists_are_422,
    oversize_uploads_are_413,
    uploads_to_unknown_campaigns_are_404,
);
