use serde_json::Value;

use crate::both_backends;
use crate::helpers::{error_of, spawn_app, Backend};

async fn leads_are_paged_and_filtered(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let mut csv = String::from("name,phone\n");
    for i in 0..7 {
        csv.push_str(&format!("Lead {i},98765432{i:02}\n"));
    }
    app.upload_csv(id, &csv).await;
    let page: Value = app
        .get(&format!("/campaigns/{id}/leads?limit=3&offset=3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 7);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["items"][0]["name"], "Lead 3");
    let new: Value = app
        .get(&format!("/campaigns/{id}/leads?status=new"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(new["total"], 7);
    let done: Value = app
        .get(&format!("/campaigns/{id}/leads?status=COMPLETED"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["total"], 0);
    let qualified: Value = app
        .get(&format!("/campaigns/{id}/leads?qualified=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(qualified["total"], 0);
}

async fn bad_lead_filters_name_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.campaign_id().await;
    let status = app
        .get(&format!("/campaigns/{id}/leads?status=HAPPY"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(status, 422).await["field"], "status");
    let qualified = app
        .get(&format!("/campaigns/{id}/leads?qualified=maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(qualified, 400).await["field"], "qualified");
    let unknown = app.get("/campaigns/777/leads").send().await.unwrap();
    error_of(unknown, 404).await;
}

both_backends!(
    leads_are_paged_and_filtered,
    bad_lead_filters_name_the_parameter
);
