//! Bearer-token auth for the REST API.
//!
//! With `API_KEY` set, every route but `/health` and the Exotel-facing ones (which carry
//! `WEBHOOK_SECRET` instead) needs `Authorization: Bearer <key>`, compared in constant time.
//! Without it the API answers loopback clients only.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};

/// Paths that never need the API key.
fn is_public(path: &str) -> bool {
    path == "/health"
        || path == "/metrics"
        || path == "/media"
        || path.starts_with("/webhooks/")
        || path.starts_with("/exotel/")
}

pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !is_public(req.path()) {
        check(&req)?;
    }
    next.call(req).await
}

fn check(req: &ServiceRequest) -> Result<(), ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Internal("application state missing".into()));
    };
    let Some(key) = &state.settings.api_key else {
        let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
        return if loopback {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "API_KEY is not set, so the API answers loopback clients only",
            ))
        };
    };
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(
            "send Authorization: Bearer <API_KEY>",
        ))?;
    if bool::from(presented.as_bytes().ct_eq(key.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the bearer token is not valid"))
    }
}
