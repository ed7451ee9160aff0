use crate::both_backends;
use crate::helpers::{error_of, spawn_app, spawn_app_with, Backend};

async fn api_key_is_required_when_set(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", "s3cret-key")]).await;
    let none = app.client.get(app.url("/campaigns")).send().await.unwrap();
    assert_eq!(error_of(none, 401).await["code"], "unauthorized");
    let wrong = app
        .client
        .get(app.url("/campaigns"))
        .bearer_auth("s3cret-kez")
        .send()
        .await
        .unwrap();
    error_of(wrong, 401).await;
    let not_bearer = app
        .client
        .get(app.url("/campaigns"))
        .header("Authorization", "Basic czNjcmV0LWtleQ==")
        .send()
        .await
        .unwrap();
    error_of(not_bearer, 401).await;
    let right = app.get("/campaigns").send().await.unwrap();
    assert_eq!(right.status(), 200);
}

async fn health_needs_no_key(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", "s3cret-key")]).await;
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn without_a_key_loopback_clients_are_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get(app.url("/campaigns")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

both_backends!(
    api_key_is_required_when_set,
    health_needs_no_key,
    without_a_key_loopback_clients_are_served,
);
