//! The flow's hand-off applets ask us (connect-to-flow mode; README "Hand-off to a human"):
//! - `GET|POST /exotel/passthru`: the Passthru after the Voicebot — 200 (transfer branch) for
//!   a call with a recorded transfer, 302 (hang-up branch) for every other call;
//! - `GET /exotel/transfer-destination`: the Connect's dynamic URL — the number to dial;
//! - `GET|POST /exotel/transfer-result`: the async Passthru in the Connect's exits — whether
//!   the human answered (`transfer_answered` / `transfer_missed`; a miss books a call-back).
//!
//! Authorised like the other Exotel entry points (`token` = `WEBHOOK_SECRET`, or a call's own
//! token beside `ref`); answered from our database only, so Exotel never waits on a provider.

use std::collections::HashMap;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::error::ErrorBody;
use super::exotel_auth::{authorise, Authorised};
use super::{ApiError, AppState};
use crate::domain::Masked;
use crate::handoff::{passthru_status, ConnectAnswer, ConnectFormat, TransferResult};
use crate::store::TransferRow;
use crate::telephony::call_outcome::{retry_policy, retry_window};

/// How long the Connect rings the human before it gives up (Exotel's maximum is 60 s).
const RING_SECONDS: u32 = 30;

/// The applet's fields: the query, and a form body's fields over them.
fn fields(req: &HttpRequest, body: &[u8]) -> HashMap<String, String> {
    let mut fields = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        if let Ok(body) = serde_urlencoded::from_bytes::<HashMap<String, String>>(body) {
            fields.extend(body);
        }
    }
    fields
}

/// The call's transfer, if the credentials open that call (a per-call token opens its own).
async fn transfer_for(
    state: &AppState,
    authorised: Authorised,
    call_sid: Option<&String>,
) -> Result<Option<TransferRow>, ApiError> {
    let Some(sid) = call_sid.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Authorised::OneCall(_) = authorised {
        let opens = state
            .store
            .attempt_by_call_sid(sid)
            .await?
            .is_some_and(|a| authorised.opens(&a));
        if !opens {
            return Err(ApiError::Unauthorized("this token is for another call"));
        }
    }
    Ok(state.store.transfer(sid).await?)
}

/// The Passthru's branch for a call.
async fn passthru(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let authorised = authorise(req, &state.settings.webhook_secret)?;
    let fields = fields(req, body);
    let transfer = match transfer_for(state, authorised, fields.get("CallSid")).await {
        Ok(t) => t,
        Err(e @ ApiError::Unauthorized(_)) => return Err(e),
        Err(e) => {
            // The safe branch: the call ends politely rather than ringing nobody.
            tracing::warn!(error = %e, "passthru: the transfer could not be read; hang-up branch");
            None
        }
    };
    let status = passthru_status(transfer.is_some());
    tracing::info!(
        call_sid = fields.get("CallSid").map(String::as_str).unwrap_or(""),
        branch = if transfer.is_some() {
            "transfer"
        } else {
            "hang_up"
        },
        "passthru asked"
    );
    // No Location: a client that follows redirects must not turn the 302 into anything else.
    Ok(HttpResponse::build(status)
        .content_type("text/plain")
        .finish())
}

/// The flow's Passthru after the Voicebot (GET)
///
/// Exotel branches on the status alone: 200 = the transfer branch (Connect), 302 = the other
/// branch (Hangup). 200 for a call whose agent recorded a transfer, 302 for every other call,
/// an unknown `CallSid` included. Idempotent. The Passthru must be set to Sync.
#[utoipa::path(
    get,
    path = "/exotel/passthru",
    operation_id = "handoff_passthru_get",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
        ("ref" = Option<String>, Query, description = "The call's ids, beside a per-call token"),
        ("CallSid" = Option<String>, Query, description = "Exotel's call sid"),
    ),
    responses(
        (status = 200, description = "Transfer branch: a transfer is recorded for the call (empty body)"),
        (status = 302, description = "Hang-up branch: no transfer, or an unknown call (empty body, no Location)"),
        (status = 401, description = "Missing or wrong token, or a per-call token used for another call", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn passthru_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    passthru(&state, &req, &[]).await
}

/// The flow's Passthru after the Voicebot (POST form)
///
/// As the GET, with the applet's fields in a form body as well as the query.
#[utoipa::path(
    post,
    path = "/exotel/passthru",
    operation_id = "handoff_passthru_post",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
        ("ref" = Option<String>, Query, description = "The call's ids, beside a per-call token"),
    ),
    responses(
        (status = 200, description = "Transfer branch (empty body)"),
        (status = 302, description = "Hang-up branch (empty body, no Location)"),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn passthru_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    passthru(&state, &req, &body).await
}

/// Whom the flow's Connect dials
///
/// The Connect applet's dynamic URL. With an `Exotel-Version` header (Programmable Connect)
/// the answer is JSON: `{"fetch_after_attempt":false,"destination":{"numbers":["+91…"]},
/// "max_ringing_duration":30}`; without, the "Dial whom" plain-text number. The number is
/// chosen by the campaign's `transfer_strategy` among numbers not already on a transfer,
/// within `max_concurrent_transfers`, and is the same on a repeat ask. No transfer (an unknown
/// call, every number busy): JSON `numbers: []`, text 404.
#[utoipa::path(
    get,
    path = "/exotel/transfer-destination",
    operation_id = "handoff_transfer_destination",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
        ("ref" = Option<String>, Query, description = "The call's ids, beside a per-call token"),
        ("CallSid" = String, Query, description = "Exotel's call sid"),
        ("Exotel-Version" = Option<String>, Header, description = "Present: answer JSON (Programmable Connect)"),
    ),
    responses(
        (status = 200, description = "JSON (with `Exotel-Version`) or the number as text/plain"),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 404, description = "Text mode: nothing to dial (empty body)"),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn transfer_destination(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let authorised = authorise(&req, &state.settings.webhook_secret)?;
    let fields = fields(&req, &[]);
    let format = ConnectFormat::of_request(
        req.headers()
            .get("Exotel-Version")
            .and_then(|v| v.to_str().ok()),
    );
    let destination = match transfer_for(&state, authorised, fields.get("CallSid")).await? {
        Some(t) => {
            state
                .store
                .transfer_destination(&t.call_sid, state.clock.now())
                .await?
        }
        None => None,
    };
    tracing::info!(
        call_sid = fields.get("CallSid").map(String::as_str).unwrap_or(""),
        to = %Masked(destination.as_deref().unwrap_or("")),
        json = format == ConnectFormat::Json,
        "connect asked whom to dial"
    );
    let answer = ConnectAnswer::new(format, destination.as_deref(), RING_SECONDS);
    Ok(HttpResponse::build(answer.status)
        .content_type(answer.content_type)
        .body(answer.body))
}

/// What the result endpoint recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransferResultAnswer {
    /// `transfer_answered`, `transfer_missed`, or `none` (no transfer for this call).
    pub result: String,
}

async fn transfer_result(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let authorised = authorise(req, &state.settings.webhook_secret)?;
    let fields = fields(req, body);
    let Some(transfer) = transfer_for(state, authorised, fields.get("CallSid")).await? else {
        return Ok(HttpResponse::Ok().json(TransferResultAnswer {
            result: "none".into(),
        }));
    };
    let get = |k: &str| fields.get(k).map(String::as_str);
    let result = TransferResult::from_dial(
        get("CallType"),
        get("DialCallStatus"),
        get("DialCallDuration"),
    );
    settle(state, &transfer.call_sid, result).await?;
    Ok(HttpResponse::Ok().json(TransferResultAnswer {
        result: result.outcome().into(),
    }))
}

/// Records the result once; a missed transfer is owed the lead's call-back, booked here if
/// the call is already saved, else by the next heartbeat after its save (durably either way).
pub async fn settle(
    state: &AppState,
    call_sid: &str,
    result: TransferResult,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let callback_at = match result {
        TransferResult::Missed => {
            let Some(transfer) = state.store.transfer(call_sid).await? else {
                return Ok(());
            };
            let campaign = state.store.campaign(transfer.campaign_id).await?;
            let delay =
                retry_policy(&campaign, state.settings.retry_minute_seconds).no_answer_delay;
            let window = retry_window(&campaign, state.settings.calling.regulatory_hours);
            Some(window.next_allowed(now + delay))
        }
        TransferResult::Answered => None,
    };
    let settled = state
        .store
        .settle_transfer(call_sid, result, callback_at, now)
        .await?;
    if settled.is_none() {
        return Ok(()); // settled before: a repeat
    }
    tracing::info!(call_sid, result = result.outcome(), "transfer settled");
    if callback_at.is_some() {
        state.store.book_missed_transfer_callbacks(now).await?;
    }
    Ok(())
}

/// The Connect's result (GET)
///
/// An Async Passthru in each of the Connect applet's exits points here: `CallType`,
/// `DialCallStatus` and `DialCallDuration` say whether the human answered
/// (`transfer_answered`: `CallType=completed`, or `DialCallStatus=completed` with a positive
/// duration) or not (`transfer_missed`, which books the lead's call-back per the campaign's
/// no-answer retry). Idempotent; an unknown call is answered 200 `none`.
#[utoipa::path(
    get,
    path = "/exotel/transfer-result",
    operation_id = "handoff_transfer_result_get",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
        ("ref" = Option<String>, Query, description = "The call's ids, beside a per-call token"),
        ("CallSid" = String, Query, description = "Exotel's call sid"),
        ("CallType" = Option<String>, Query, description = "`completed`, `incomplete`, `client-hangup`"),
        ("DialCallStatus" = Option<String>, Query, description = "`completed`, `busy`, `no-answer`, `failed`, `canceled`"),
        ("DialCallDuration" = Option<String>, Query, description = "Seconds the human talked"),
    ),
    responses(
        (status = 200, description = "Recorded", body = TransferResultAnswer),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn transfer_result_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    transfer_result(&state, &req, &[]).await
}

/// The Connect's result (POST form)
///
/// As the GET, with the fields in a form body as well as the query.
#[utoipa::path(
    post,
    path = "/exotel/transfer-result",
    operation_id = "handoff_transfer_result_post",
    tag = "exotel",
    params(
        ("token" = String, Query, description = "`WEBHOOK_SECRET`, or the call's own token"),
    ),
    responses(
        (status = 200, description = "Recorded", body = TransferResultAnswer),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
    security(("webhook_token" = [])),
)]
pub async fn transfer_result_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    transfer_result(&state, &req, &body).await
}
