//! `GET /openapi.json` and `GET /docs`: the served document is the one the handlers' types
//! make, every route it names answers on the running app, and both need the API key.
//!
//! The other direction (every route of `routes()` is in the document) is checked by the unit
//! tests of `src/api/openapi.rs`, which read `routes()`'s source: actix lists no routes.

use std::collections::BTreeSet;

use serde_json::Value;
use utoipa::OpenApi;
use voice_runtime::api::openapi::ApiDoc;

use crate::both_backends;
use crate::helpers::{error_of, spawn_app_with, Backend, TestApp};

const KEY: &str = "openapi-test-key";

const METHODS: [&str; 5] = ["get", "post", "patch", "delete", "put"];

/// (method, path) of every operation in an OpenAPI JSON document.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    document["paths"]
        .as_object()
        .expect("paths is an object")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_string(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn served_document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").send().await.expect("request");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    response.json().await.expect("the document is JSON")
}

async fn openapi_json_is_the_handlers_document(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let served = served_document(&app).await;
    let version = served["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(served["info"]["title"].is_string());
    let built = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
    assert_eq!(operations(&served), operations(&built));
    for (method, path) in [
        ("post", "/campaigns"),
        ("patch", "/campaigns/{id}"),
        ("post", "/campaigns/{id}/upload-csv"),
        ("delete", "/suppressions/{phone}"),
        ("post", "/exotel/voicebot-url"),
        ("get", "/media"),
        ("get", "/openapi.json"),
    ] {
        assert!(
            served["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    let schemes = &served["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    let error = &served["components"]["schemas"]["ErrorBody"];
    assert!(error["properties"]["error"].is_object(), "{error}");
}

/// Each documented operation, asked of the running app, reaches a handler: the answer is not
/// the fallback's "route not found" nor a 405. Ids name nothing, so no request changes
/// anything (each fails on its missing campaign, body or token).
async fn every_documented_route_is_routed(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let document = served_document(&app).await;
    let operations = operations(&document);
    assert!(operations.len() >= 25, "{operations:?}");
    for (method, path) in operations {
        let url = path
            .replace("{id}", "987654321")
            .replace("{phone}", "%2B919999900000");
        assert!(
            !url.contains('{'),
            "{path} has a parameter the test does not fill"
        );
        let request = match method.as_str() {
            "get" => app.get(&url),
            "post" => app.post(&url),
            "patch" => app.patch(&url),
            "delete" => app.delete(&url),
            other => panic!("no request builder for {other}"),
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            let body: Value = response.json().await.unwrap_or_default();
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path} is documented but not routed"
            );
        }
    }
}

async fn docs_page_shows_every_path(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let document = served_document(&app).await;
    let response = app.get("/docs").send().await.expect("request");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    assert!(header("content-security-policy").contains("default-src 'none'"));
    let page = response.text().await.expect("text");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "no script");
    assert!(
        !page.contains("src=") && !page.contains("<link"),
        "nothing fetched"
    );
    for (_, path) in operations(&document) {
        assert!(
            page.contains(&format!("<code>{path}</code>")),
            "{path} on the page"
        );
    }
    for schema in ["Campaign", "ErrorBody", "LeadImportReport"] {
        assert!(page.contains(&format!("<code>{schema}</code>")), "{schema}");
    }
}

/// The document maps every route, the Exotel-facing ones included: like the rest of the API
/// it is for whoever holds the key.
async fn openapi_and_docs_need_the_api_key(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    for path in ["/openapi.json", "/docs"] {
        let anonymous = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(
            error_of(anonymous, 401).await["code"],
            "unauthorized",
            "{path}"
        );
        let wrong = app
            .client
            .get(app.url(path))
            .bearer_auth("not-the-key")
            .send()
            .await
            .expect("request");
        error_of(wrong, 401).await;
    }
}

both_backends!(
    openapi_json_is_the_handlers_document,
    every_documented_route_is_routed,
    docs_page_shows_every_path,
    openapi_and_docs_need_the_api_key,
);
