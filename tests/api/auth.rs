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

/// Behind nginx/Caddy/ngrok on this host every client's TCP peer is loopback: a request that
/// carries a proxy's headers is never taken for a local one.
async fn proxied_requests_are_not_loopback(backend: Backend) {
    let app = spawn_app(backend).await;
    for (header, value) in [
        ("X-Forwarded-For", "203.0.113.7"),
        ("Forwarded", "for=203.0.113.7;proto=https"),
        ("X-Real-IP", "203.0.113.7"),
    ] {
        for path in ["/campaigns", "/metrics"] {
            let proxied = app
                .client
                .get(app.url(path))
                .header(header, value)
                .send()
                .await
                .unwrap();
            error_of(proxied, 401).await;
        }
    }
    let direct = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(direct.status(), 200);
}

/// `/metrics` takes the API key or `METRICS_TOKEN`; the metrics token opens nothing else.
async fn metrics_take_the_api_key_or_their_own_token(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("API_KEY", "s3cret-key"), ("METRICS_TOKEN", "scrape-me")],
    )
    .await;
    let bare = app.client.get(app.url("/metrics")).send().await.unwrap();
    error_of(bare, 401).await;
    for token in ["s3cret-key", "scrape-me"] {
        let ok = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{token}");
    }
    let elsewhere = app
        .client
        .get(app.url("/campaigns"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    error_of(elsewhere, 401).await;
    // A metrics token alone (no API key): the API stays loopback-only, metrics need the token.
    let only_metrics = spawn_app_with(backend, &[("METRICS_TOKEN", "scrape-me")]).await;
    let bare = only_metrics
        .client
        .get(only_metrics.url("/metrics"))
        .send()
        .await
        .unwrap();
    error_of(bare, 401).await;
    let api = only_metrics
        .client
        .get(only_metrics.url("/campaigns"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
}

both_backends!(
    api_key_is_required_when_set,
    health_needs_no_key,
    without_a_key_loopback_clients_are_served,
    proxied_requests_are_not_loopback,
    metrics_take_the_api_key_or_their_own_token,
);
