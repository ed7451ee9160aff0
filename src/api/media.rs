//! The Exotel-facing entry points of a live call: the media WebSocket (`GET /media`) and the
//! dynamic URL the flow's Voicebot applet asks for (`GET|POST /exotel/voicebot-url`). The
//! voicebot URL needs `WEBHOOK_SECRET` (it is the flow's static URL); a socket needs the
//! secret or the per-call token of the URL we minted, and is refused before the upgrade
//! without one, or when the node already holds as many sockets as it may.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde::de::value::MapDeserializer;
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
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

/// A call's media stream (WebSocket)
///
/// Exotel's Voicebot applet connects here and streams the call's audio both ways (Exotel's
/// media-stream JSON messages over WebSocket). Authorised by `token` (the shared
/// `WEBHOOK_SECRET` or the call's own token beside `ref`), or by HTTP Basic with the secret as
/// the password; refused before the upgrade without one, or when the node holds as many
/// sockets as it may.
#[utoipa::path(
    get,
    path = "/media",
    operation_id = "media_socket",
    tag = "exotel",
    params(
        ("token" = Option<String>, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
        ("ref" = Option<String>, Query, description = "The call's ids (`c=…;l=…;s=…;a=…`), beside a per-call token"),
        ("sample-rate" = Option<u32>, Query, description = "8000 (default), 16000 or 24000 Hz"),
    ),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open"),
        (status = 400, description = "Not a WebSocket upgrade request (no body: the reason phrase says which header is missing)"),
        (status = 401, description = "Missing or wrong token and no valid Basic credentials", body = ErrorBody),
        (status = 422, description = "An unsupported `sample-rate`", body = ErrorBody),
        (status = 426, description = "A WebSocket version other than 13 (no body)"),
        (status = 503, description = "The node already holds as many media sockets as it may", body = ErrorBody),
    ),
    security(("webhook_token" = []), ("webhook_basic" = [])),
)]
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

/// Where the flow should stream a call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VoicebotUrl {
    /// `wss://…/media?sample-rate=8000&token=…&ref=…`, with the call's own token.
    pub url: String,
}

/// What the Voicebot applet tells of the call, in the query (GET) or a form body (POST).
/// Only these are read; the applet sends more, which is ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "PascalCase", default)]
pub struct VoicebotAsk {
    /// Exotel's id of the call; finds the call when `CustomField` is missing.
    pub call_sid: String,
    /// The ids we sent with the dial (`c=…;l=…;s=…;a=…`).
    pub custom_field: String,
    /// The caller's number (logged masked).
    pub from: String,
}

/// The flow's voicebot URL (GET)
///
/// Exotel's Voicebot applet asks where to stream the call; the answer is this node's `/media`
/// URL with the call's own token. Authorised by `token` = `WEBHOOK_SECRET`.
#[utoipa::path(
    get,
    path = "/exotel/voicebot-url",
    operation_id = "voicebot_url_get",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`"),
        VoicebotAsk,
    ),
    responses(
        (status = 200, description = "Where to stream the call", body = VoicebotUrl),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "Neither `CustomField` nor `CallSid` names a call of ours", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn voicebot_url_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<VoicebotUrl>, ApiError> {
    voicebot_url(&state, &req, &[]).await
}

/// The flow's voicebot URL (POST)
///
/// As the GET, with the applet's fields in a form body as well as the query (the body wins).
#[utoipa::path(
    post,
    path = "/exotel/voicebot-url",
    operation_id = "voicebot_url_post",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`"),
        VoicebotAsk,
    ),
    request_body(content = VoicebotAsk, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Where to stream the call", body = VoicebotUrl),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "Neither `CustomField` nor `CallSid` names a call of ours", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn voicebot_url_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<VoicebotUrl>, ApiError> {
    voicebot_url(&state, &req, &body).await
}

/// The query's fields, then a urlencoded body's over them; the call they name.
async fn voicebot_url(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<web::Json<VoicebotUrl>, ApiError> {
    check_secret(req, &state.settings.webhook_secret)?;
    let mut fields = query(req);
    if let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(body) {
        fields.extend(form);
    }
    // Every value is text, so reading them into the struct cannot fail on a type.
    let ask = VoicebotAsk::deserialize(MapDeserializer::<_, serde::de::value::Error>::new(
        fields.into_iter(),
    ))
    .map_err(|e| ApiError::bad_request(None, format!("unreadable voicebot fields: {e}")))?;
    let sid = ask.call_sid;
    tracing::info!(call_sid = %sid, from = %Masked(&ask.from), "voicebot URL requested");
    let call = match CallRef::decode(&ask.custom_field) {
        Some(call) => call,
        // A flow that dropped our CustomField: the sid says which call it is.
        None => call_of_sid(state, &sid)
            .await?
            .ok_or(ApiError::NotFound("call"))?,
    };
    Ok(web::Json(VoicebotUrl {
        url: state.engine.media_url(&call.encode()),
    }))
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
