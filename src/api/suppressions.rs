//! `/suppressions`: the node-wide do-not-call list. Any campaign's claim skips these numbers,
//! and lead uploads leave them out. Numbers may be of any country (a suppression can only stop
//! calls, so `ALLOWED_COUNTRY_CODES` does not apply).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::extract::{Page, QueryParams, ValidJson};
use super::leads::{read_upload, refuse_declared_oversize};
use super::{ApiError, AppState};
use crate::domain::{Phone, SuppressionSource};
use crate::leads::csv_import::CsvFileError;
use crate::leads::suppression_csv::{parse_suppressions, MAX_REASON_CHARS};

/// At most this many rejected rows are listed; `rejected_count` has them all.
const MAX_LISTED_REJECTIONS: usize = 1000;
/// Used when `POST /suppressions` gives no reason.
const DEFAULT_REASON: &str = "added by an operator";

/// The body of `POST /suppressions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionBody {
    pub phone: String,
    pub reason: Option<String>,
}

fn phone_of(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).map_err(|e| ApiError::invalid("phone", e))
}

/// `GET /suppressions?limit=&offset=`: newest first.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let page = Page::from_query(&QueryParams::from_request(&req)?)?;
    let (items, total) = state
        .store
        .list_suppressions(page.limit, page.offset)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": items, "total": total, "limit": page.limit, "offset": page.offset,
    })))
}

/// `POST /suppressions`: 201 with the new entry, or 200 with the one already there.
pub async fn add(
    state: web::Data<AppState>,
    body: ValidJson<SuppressionBody>,
) -> Result<HttpResponse, ApiError> {
    let phone = phone_of(&body.0.phone)?;
    let reason = body
        .0
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REASON);
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(
            "reason",
            format!("reason must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    let (entry, created) = state
        .store
        .add_suppression(
            phone.as_str(),
            reason,
            SuppressionSource::Api,
            state.clock.now(),
        )
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(entry))
}

/// `DELETE /suppressions/{phone}` (any spelling): 204, or 404 when it was not on the list.
pub async fn remove(
    state: web::Data<AppState>,
    phone: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let phone = phone_of(&phone.into_inner())?;
    if !state.store.remove_suppression(phone.as_str()).await? {
        return Err(ApiError::NotFound("suppression"));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /suppressions/upload-csv`: a multipart field `file` or a `text/csv` body, same limits
/// as a lead upload. Valid rows are added in one transaction; bad rows are listed.
pub async fn upload_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limit = state.settings.max_upload_bytes;
    refuse_declared_oversize(&req, limit)?;
    let bytes = read_upload(&req, payload, limit).await?;
    let parsed = web::block(move || parse_suppressions(&bytes))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e: CsvFileError| ApiError::invalid("file", e.to_string()))?;
    let added = state
        .store
        .add_suppressions(&parsed.entries, SuppressionSource::Csv, state.clock.now())
        .await?;
    let rejected_count = parsed.rejected.len();
    let mut rejected = parsed.rejected;
    rejected.truncate(MAX_LISTED_REJECTIONS);
    tracing::info!(added, rejected_count, "suppression list uploaded");
    Ok(HttpResponse::Ok().json(json!({
        "accepted": added,
        "already_suppressed": parsed.entries.len() as u64 - added,
        "duplicates_in_file": parsed.duplicates_in_file,
        "rejected": rejected,
        "rejected_count": rejected_count,
    })))
}
