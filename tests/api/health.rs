use crate::both_backends;
use crate::helpers::{spawn_app, Backend};

async fn health_reports_version_and_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["database"]["status"], "ok");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"]["backend"], expected);
}

async fn health_is_503_when_the_database_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    app.state.store.close().await;
    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
}

/// A draining node leaves the balancer's rotation: 503 `draining`, the database still fine.
async fn a_draining_node_is_not_ready(backend: Backend) {
    let app = spawn_app(backend).await;
    app.state.engine.start_draining();
    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "draining");
    assert_eq!(body["database"]["status"], "ok");
}

async fn unknown_routes_get_a_json_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/no/such/route").send().await.unwrap();
    let error = crate::helpers::error_of(response, 404).await;
    assert_eq!(error["code"], "not_found");
}

both_backends!(
    health_reports_version_and_database,
    health_is_503_when_the_database_is_gone,
    a_draining_node_is_not_ready,
    unknown_routes_get_a_json_404,
);
