//! `GET /health`: liveness plus the database's answer, for load balancers and people.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    use crate::telemetry_metrics::{handle, names};
    metrics::gauge!(names::LIVE_CALLS).set(state.engine.registry.len() as f64);
    crate::telemetry_metrics::publish_live_actors();
    metrics::gauge!(names::NODE_TOKENS_FREE)
        .set(state.engine.node_tokens.available_permits() as f64);
    match handle() {
        Some(h) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(h.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable"),
    }
}

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    let (ok, db) = match ping {
        Ok(Ok(())) => (true, "ok".to_string()),
        Ok(Err(e)) => (false, e.to_string()),
        Err(_) => (false, "no answer within 2 s".to_string()),
    };
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": { "backend": state.store.backend(), "status": db },
    });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
