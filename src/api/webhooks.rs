//! `POST /webhooks/exotel/call-status?ref=…&token=…`: Exotel's status callbacks, as JSON, urlencoded
//! or multipart form. Answered fast and idempotently: a repeat or a late earlier-stage status
//! changes nothing, and an unknown `CallSid` is logged and answered 200 so Exotel stops retrying.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::error::ErrorBody;
use super::exotel_auth::{authorise, Authorised};
use super::{ApiError, AppState};
use crate::actors::campaign_actor::CallEnded;
use crate::handoff::legs::{human_leg_result, legs_from_fields, legs_from_json, Leg};
use crate::telephony::call_outcome::{apply_status, Applied, StatusUpdate};
use crate::telephony::exotel::callback::StatusCallbackFields;
use crate::telephony::exotel::StatusCallback;

/// Callback bodies are a few hundred bytes; anything far larger is not Exotel.
const BODY_LIMIT: usize = 64 * 1024;

/// What a status callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallStatusResult {
    /// A status word we do not know, a repeat, or a late earlier-stage status: nothing changed.
    Ignored,
    /// No call of ours has this `CallSid` (logged; 200 so that Exotel stops retrying).
    UnknownCall,
    /// The call moved on (ringing, answered).
    Updated,
    /// The call ended and its outcome was recorded.
    Ended,
}

impl CallStatusResult {
    /// The label of the webhook counter.
    fn as_str(self) -> &'static str {
        match self {
            CallStatusResult::Ignored => "ignored",
            CallStatusResult::UnknownCall => "unknown_call",
            CallStatusResult::Updated => "updated",
            CallStatusResult::Ended => "ended",
        }
    }
}

/// The answer to a status callback.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallStatusAnswer {
    pub result: CallStatusResult,
}

/// Exotel's call status callback
///
/// Answered fast and idempotently. Authorised by `token` in the query: the shared
/// `WEBHOOK_SECRET`, or the per-call token of the URL we dialled with (then `ref` names the
/// call, and the body must be about that call).
#[utoipa::path(
    post,
    path = "/webhooks/exotel/call-status",
    operation_id = "exotel_call_status",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
        ("ref" = Option<String>, Query, description = "The call's ids (`c=…;l=…;s=…;a=…`), beside a per-call token"),
    ),
    request_body(
        description = "Exotel's fields; any others are ignored",
        content(
            (StatusCallbackFields = "application/x-www-form-urlencoded"),
            (StatusCallbackFields = "application/json"),
            (StatusCallbackFields = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "Taken (also for an unknown call or status, so that Exotel stops retrying)", body = CallStatusAnswer),
        (status = 400, description = "`CallSid` or `Status` missing, or an unreadable body", body = ErrorBody),
        (status = 401, description = "Missing or wrong token, or a per-call token used for another call", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn call_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authorised = authorise(&req, &state.settings.webhook_secret)?;
    let (mut callback, legs) = read_callback(&req, payload).await?;
    if let Authorised::OneCall(call) = authorised {
        // A per-call token speaks for its own call only: the ids in the body, and the call
        // the sid belongs to, must be that call's.
        let foreign_ref = callback.call_ref.is_some_and(|r| r != call);
        let foreign_sid = state
            .store
            .attempt_by_call_sid(&callback.call_sid)
            .await?
            .is_some_and(|a| !authorised.opens(&a));
        if foreign_ref || foreign_sid {
            return Err(ApiError::Unauthorized("this token is for another call"));
        }
        callback.call_ref = Some(call);
    }
    let Some(status) = callback.status else {
        tracing::warn!(call_sid = %callback.call_sid, status = %callback.raw_status, "unknown call status ignored");
        return Ok(HttpResponse::Ok().json(CallStatusAnswer {
            result: CallStatusResult::Ignored,
        }));
    };
    let update = StatusUpdate {
        call_sid: callback.call_sid.clone(),
        status,
        duration_seconds: callback.duration_seconds,
        recording_url: callback.recording_url,
        call_ref: callback.call_ref,
    };
    let applied = apply_status(&state.engine, &update).await?;
    if status.is_terminal() {
        settle_transfer_from_legs(&state, &update.call_sid, &legs).await?;
    }
    let result = match applied {
        Applied::Unknown => {
            tracing::warn!(call_sid = %update.call_sid, "status callback for an unknown call");
            CallStatusResult::UnknownCall
        }
        Applied::Ignored => CallStatusResult::Ignored,
        Applied::Progressed => CallStatusResult::Updated,
        Applied::Ended {
            campaign_id,
            scheduled_call_id,
        } => {
            state.campaigns.do_send(CallEnded {
                campaign_id,
                scheduled_call_id,
            });
            CallStatusResult::Ended
        }
    };
    metrics::counter!(crate::telemetry_metrics::names::WEBHOOKS, "result" => result.as_str())
        .increment(1);
    Ok(HttpResponse::Ok().json(CallStatusAnswer { result }))
}

/// A hand-off whose flow has no result Passthru is settled from the terminal callback's
/// Connect leg (a result already recorded stands: `settle` records once).
async fn settle_transfer_from_legs(
    state: &AppState,
    call_sid: &str,
    legs: &[Leg],
) -> Result<(), ApiError> {
    let Some(result) = human_leg_result(legs) else {
        return Ok(());
    };
    let dialed = state
        .store
        .transfer(call_sid)
        .await?
        .is_some_and(|t| t.destination.is_some());
    if dialed {
        super::handoff::settle(state, call_sid, result).await?;
    }
    Ok(())
}

/// The secret we put in the callback URL, compared in constant time.
pub fn check_secret(req: &HttpRequest, secret: &str) -> Result<(), ApiError> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let presented = query.get("token").map(String::as_str).unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(secret.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("missing or wrong webhook token"))
    }
}

/// The callback, and its legs (the hand-off's Connect leg, when there is one).
async fn read_callback(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(StatusCallback, Vec<Leg>), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed = if content_type.starts_with("multipart/form-data") {
        let fields = multipart_fields(Multipart::new(req.headers(), payload)).await?;
        StatusCallback::from_fields(&fields).map(|c| (c, legs_from_fields(&fields)))
    } else {
        let body = payload
            .to_bytes_limited(BODY_LIMIT)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit: BODY_LIMIT })?
            .map_err(|e| ApiError::bad_request(None, format!("could not read the body: {e}")))?;
        if content_type.contains("json") {
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(None, format!("invalid JSON: {e}")))?;
            StatusCallback::from_json(&value).map(|c| (c, legs_from_json(&value)))
        } else {
            let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| ApiError::bad_request(None, format!("invalid form: {e}")))?;
            StatusCallback::from_fields(&fields).map(|c| (c, legs_from_fields(&fields)))
        }
    };
    parsed.map_err(|field| ApiError::bad_request(Some(&field), format!("{field} is missing")))
}

async fn multipart_fields(mut form: Multipart) -> Result<HashMap<String, String>, ApiError> {
    let mut fields = HashMap::new();
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::bad_request(None, format!("malformed form: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(None, format!("malformed form: {e}")))?;
            total += chunk.len();
            if total > BODY_LIMIT {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            value.extend_from_slice(&chunk);
        }
        fields.insert(name, String::from_utf8_lossy(&value).into_owned());
    }
    Ok(fields)
}
