//! `GET /health`: liveness plus the database's answer, for load balancers and people.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::error::ErrorBody;
use super::AppState;

/// Prometheus metrics
///
/// Prometheus text format. Takes `METRICS_TOKEN` as well as the API key, so a scraper need
/// not hold the key that runs campaigns.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 503, description = "The metrics recorder is not installed", content_type = "text/plain", body = String),
    ),
    security(("api_key" = []), ("metrics_token" = [])),
)]
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

/// The answer of `GET /health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    /// This build's version.
    pub version: &'static str,
    pub database: DatabaseHealth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    /// The database did not answer as it should.
    Degraded,
    /// Shutting down (SIGTERM): live calls finish here, new work should go to other nodes.
    Draining,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatabaseHealth {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// `ok`, or what went wrong.
    pub status: String,
}

/// Liveness and the database
///
/// For load balancers and people; needs no key.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "Up, and the database answered", body = Health),
        (status = 503, description = "Up, but the database did not answer within 2 s, or failed (`status` is `degraded`), or the node is shutting down (`draining`)", body = Health),
    ),
    security(()),
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    let (ok, db) = match ping {
        Ok(Ok(())) => (true, "ok".to_string()),
        Ok(Err(e)) => (false, e.to_string()),
        Err(_) => (false, "no answer within 2 s".to_string()),
    };
    let draining = state.engine.draining();
    let body = Health {
        status: match (ok, draining) {
            (_, true) => HealthStatus::Draining,
            (true, false) => HealthStatus::Ok,
            (false, false) => HealthStatus::Degraded,
        },
        version: env!("CARGO_PKG_VERSION"),
        database: DatabaseHealth {
            backend: state.store.backend(),
            status: db,
        },
    };
    // A balancer's readiness check takes a draining node out of rotation; the sockets and
    // callbacks of its live calls still reach it (or any other node) meanwhile.
    if ok && !draining {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
