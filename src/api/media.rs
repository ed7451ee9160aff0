//! The Exotel-facing entry points of a live call: the media WebSocket (`GET /media`) and the
//! dynamic URL the flow's Voicebot applet asks for (`GET|POST /exotel/voicebot-url`). Both need
//! `WEBHOOK_SECRET`; a socket without it is refused before the upgrade.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::json;

use super::webhooks::check_secret;
use super::{ApiError, AppState};
use crate::media::socket::MediaSocket;
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
    if check_secret(&req, &state.settings.webhook_secret).is_err() && !basic_auth_ok(&req, &state) {
        return Err(ApiError::Unauthorized("missing or wrong media token").into());
    }
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
    let actor = MediaSocket::new(state.get_ref().clone(), rate, url_ref);
    ws::WsResponseBuilder::new(actor, &req, stream)
        .frame_size(1 << 20)
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
    let custom = fields.get("CustomField").cloned().unwrap_or_default();
    if let Some(sid) = fields.get("CallSid") {
        tracing::info!(call_sid = %sid, "voicebot URL requested");
    }
    Ok(HttpResponse::Ok().json(json!({"url": state.engine.media_url(&custom)})))
}
