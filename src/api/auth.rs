//! Bearer-token auth for the REST API.
//!
//! With `API_KEY` set, every route but `/health` and the Exotel-facing ones (which carry
//! `WEBHOOK_SECRET` instead) needs `Authorization: Bearer <key>`, compared in constant time.
//! `/metrics` also takes `METRICS_TOKEN`, so a scraper need not hold the key that runs campaigns.
//! The console (`/` and `/ui/…`) signs in with the key once and then holds a session cookie
//! (`console::gate`); that cookie also reads, never writes, the rest of the API.
//! Without a key the route answers loopback clients only — and a request that came through a
//! reverse proxy (nginx, Caddy, ngrok on the same host) is not a loopback client, however its
//! TCP peer looks.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::console::gate;

/// Headers a reverse proxy adds; their presence means the real client is somewhere else.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Paths that never need the API key. `/openapi.json` and `/docs` are not among them: they map
/// every route, the Exotel-facing ones included, and only the operator needs that map.
pub(crate) fn is_public(path: &str) -> bool {
    path == "/health"
        || path == "/media"
        || path.starts_with("/webhooks/")
        || path.starts_with("/exotel/")
}

pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path();
    if is_public(path) || gate::is_public(path) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if gate::is_console(path) {
        return console_gate(req, next).await;
    }
    check(&req)?;
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Console pages take the session cookie, never the bearer token.
async fn console_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ApiError::Internal("application state missing".into()).into());
    };
    match gate::decide(&req, &state, is_direct_loopback(&req)) {
        gate::Gate::Session(session) => {
            gate::admit(&req, session);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        gate::Gate::NewSession(session, cookie) => {
            gate::admit(&req, session);
            let mut response = next.call(req).await?.map_into_boxed_body();
            response.response_mut().add_cookie(&cookie)?;
            Ok(response)
        }
        gate::Gate::SignIn if state.settings.api_key.is_none() => {
            // Nothing to sign in with: say so, rather than bounce between pages.
            let page = crate::console::layout::bare_page(
                "Not available",
                maud::html! {
                    h1 { "The console answers this host only" }
                    p { "API_KEY is not set, so the console (like the API) answers clients on \
                        this machine that reach it directly, not through a proxy. Set API_KEY \
                        on the server to sign in from elsewhere." }
                },
            );
            let response =
                crate::console::layout::html_response(actix_web::http::StatusCode::FORBIDDEN, page);
            Ok(req.into_response(response))
        }
        gate::Gate::SignIn => {
            let to_sign_in = actix_web::HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, "/ui/sign-in"))
                .finish();
            Ok(req.into_response(to_sign_in))
        }
    }
}

fn check(req: &ServiceRequest) -> Result<(), ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Internal("application state missing".into()));
    };
    let settings = &state.settings;
    let metrics_token = (req.path() == "/metrics")
        .then_some(settings.metrics_token.as_deref())
        .flatten();
    let keys: Vec<&str> = settings
        .api_key
        .as_deref()
        .into_iter()
        .chain(metrics_token)
        .collect();
    // A signed-in console may read (never change) through the API: the call page's audio
    // element, the export links. Writes need the bearer token, so a cookie alone can never be
    // ridden by another site's form.
    let read_only = matches!(req.method().as_str(), "GET" | "HEAD");
    if read_only && gate::session_of(req, state).is_some() {
        return Ok(());
    }
    if keys.is_empty() {
        return if is_direct_loopback(req) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "API_KEY is not set, so the API answers loopback clients only (not through a proxy)",
            ))
        };
    }
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(
            "send Authorization: Bearer <API_KEY>",
        ))?;
    // Every key is compared (no early exit), so timing says nothing about which one is close.
    let matched = keys.iter().fold(0u8, |any, key| {
        any | presented.as_bytes().ct_eq(key.as_bytes()).unwrap_u8()
    });
    if matched == 1 {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the bearer token is not valid"))
    }
}

/// A client on this host talking to us directly, not through a proxy on this host.
fn is_direct_loopback(req: &ServiceRequest) -> bool {
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    let proxied = PROXY_HEADERS.iter().any(|h| req.headers().contains_key(*h));
    loopback && !proxied
}
