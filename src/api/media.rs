//! The Exotel-facing entry points of a live call: the media WebSocket (`GET /media`) and the
//! dynamic URL the flow's Voicebot applet asks for (`GET|POST /exotel/voicebot-url`). The
//! voicebot URL needs `WEBHOOK_SECRET` (it is the flow's static URL); a socket needs the
//! secret or the per-call token of the URL we minted, and is refused before the upgrade
//! without one, or when the node already holds as many sockets as it may.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::json;

use super::exotel_auth::{authorise, Authorised};
use super::webhooks::check_secret;
use super::{ApiError, AppState};
use crate::domain::Masked;
use crate::media::socket::{MediaSocket, MAX_FRAME_BYTES};
use crate::telephony::exotel::CallRef;

fn query(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// `GET /media?sample-rate=8000&token=…[&ref=c=…;l=…;s=…;a=…]`
pub async fn socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    stream: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let authorised = match authorise(&req, &state.settings.webhook_secret) {
        Ok(authorised) => authorised,
        Err(_) if basic_auth_ok(&req, &state) => Authorised::AnyCall,
        Err(_) => return Err(ApiError::Unauthorized("missing or wrong media token").into()),
    };
    // Refused before the upgrade: an open socket costs a task, buffers and timers, and
    // nobody should be able to pile them up past what this node can carry.
    let Ok(slot) = state.media_sockets.clone().try_acquire_owned() else {
        return Err(ApiError::Unavailable("too many open media sockets".into()).into());
    };
    let q = query(&req);
    let rate = match q
        .get("sample-rate")
        .or_else(|| q.get("sample_rate"))
        .map(|r| r.parse::<u32>())
    {
        None => 8000,
        Some(Ok(r)) if [8000, 16000, 24000].contains(&r) => r,
        Some(_) => {
            return Err(ApiError::invalid(
                "sample-rate",
                "sample-rate must be 8000, 16000 or 24000",
            )
            .into())
        }
    };
    let url_ref = q.get("ref").and_then(|r| CallRef::decode(r));
    let actor = MediaSocket::new(state.get_ref().clone(), rate, url_ref)
        .authorised(authorised)
        .holding(slot);
    ws::WsResponseBuilder::new(actor, &req, stream)
        .frame_size(MAX_FRAME_BYTES)
        .start()
}

/// HTTP Basic on the upgrade, with the webhook secret as the password.
fn basic_auth_ok(req: &HttpRequest, state: &AppState) -> bool {
    use base64::Engine as _;
    let Some(encoded) = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    let password = text.split_once(':').map(|(_, p)| p).unwrap_or("");
    use subtle::ConstantTimeEq;
    bool::from(
        password
            .as_bytes()
            .ct_eq(state.settings.webhook_secret.as_bytes()),
    )
}

/// `GET|POST /exotel/voicebot-url?CallSid=…&CustomField=…`: where the flow should stream the
/// call. Answers `{"url": "wss://…/media?sample-rate=8000&token=…&ref=…"}`.
pub async fn voicebot_url(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    check_secret(&req, &state.settings.webhook_secret)?;
    let mut fields = query(&req);
    if let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) {
        fields.extend(form);
    }
    let sid = fields.get("CallSid").cloned().unwrap_or_default();
    let from = fields.get("From").map(String::as_str).unwrap_or("");
    tracing::info!(call_sid = %sid, from = %Masked(from), "voicebot URL requested");
    let call = match fields.get("CustomField").and_then(|c| CallRef::decode(c)) {
        Some(call) => call,
        // A flow that dropped our CustomField: the sid says which call it is.
        None => call_of_sid(&state, &sid)
            .await?
            .ok_or(ApiError::NotFound("call"))?,
    };
    Ok(HttpResponse::Ok().json(json!({"url": state.engine.media_url(&call.encode())})))
}

/// Our ids for an Exotel call sid, waiting a moment: the flow can ask before our record of
/// the dial commits.
async fn call_of_sid(state: &AppState, sid: &str) -> Result<Option<CallRef>, ApiError> {
    if sid.trim().is_empty() {
        return Ok(None);
    }
    for _ in 0..40 {
        if let Some(a) = state.store.attempt_by_call_sid(sid).await? {
            return Ok(Some(CallRef {
                campaign_id: a.campaign_id,
                lead_id: a.lead_id,
                scheduled_call_id: a.scheduled_call_id,
                attempt: a.attempt_number,
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(None)
}
