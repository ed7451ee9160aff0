//! `/suppressions`: the node-wide do-not-call list. Any campaign's claim skips these numbers,
//! and lead uploads leave them out. Numbers may be of any country (a suppression can only stop
//! calls, so `ALLOWED_COUNTRY_CODES` does not apply).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
use super::extract::{Page, QueryParams, ValidJson};
use super::leads::{read_upload, refuse_declared_oversize, CsvUpload};
use super::{ApiError, AppState};
use crate::domain::{Phone, SuppressionSource};
use crate::leads::csv_import::{CsvFileError, RejectedRow};
use crate::leads::suppression_csv::{parse_suppressions, MAX_REASON_CHARS};
use crate::store::Suppression;

/// At most this many rejected rows are listed; `rejected_count` has them all.
const MAX_LISTED_REJECTIONS: usize = 1000;
/// Used when `POST /suppressions` gives no reason.
const DEFAULT_REASON: &str = "added by an operator";

/// The body of `POST /suppressions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressionBody {
    /// Any spelling (`+91 98765 43210`, `09876543210`); stored in E.164.
    pub phone: String,
    /// Why the number must not be called; "added by an operator" when left out.
    pub reason: Option<String>,
}

fn phone_of(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).map_err(|e| ApiError::invalid("phone", e))
}

/// A page of the suppression list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuppressionList {
    pub items: Vec<Suppression>,
    /// Numbers on the list, not only on this page.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// List the suppression list
///
/// Newest first.
#[utoipa::path(
    get,
    path = "/suppressions",
    operation_id = "list_suppressions",
    tag = "suppressions",
    params(Page),
    responses(
        (status = 200, description = "A page of the list", body = SuppressionList),
        (status = 400, description = "An unparsable `limit` or `offset`", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 422, description = "`limit` or `offset` out of range", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<SuppressionList>, ApiError> {
    let page = Page::from_query(&QueryParams::from_request(&req)?)?;
    let (items, total) = state
        .store
        .list_suppressions(page.limit, page.offset)
        .await?;
    Ok(web::Json(SuppressionList {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// Add a number to the suppression list
///
/// 201 with the new entry, or 200 with the one already there (its reason unchanged).
#[utoipa::path(
    post,
    path = "/suppressions",
    operation_id = "add_suppression",
    tag = "suppressions",
    request_body = SuppressionBody,
    responses(
        (status = 201, description = "Added", body = Suppression),
        (status = 200, description = "Already on the list", body = Suppression),
        (status = 400, description = "Malformed JSON, a wrong type or an unknown field", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = ErrorBody),
        (status = 422, description = "Not a phone number, or a reason too long", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
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

/// Remove a number from the suppression list
#[utoipa::path(
    delete,
    path = "/suppressions/{phone}",
    operation_id = "remove_suppression",
    tag = "suppressions",
    params(("phone" = String, Path, description = "The number, in any spelling (URL-encode the `+`)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "The number was not on the list", body = ErrorBody),
        (status = 422, description = "Not a phone number", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
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

/// What a suppression list upload did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuppressionImportReport {
    /// Numbers added to the list.
    pub accepted: u64,
    /// Valid rows whose number was on the list already.
    pub already_suppressed: u64,
    /// Rows whose number appeared on an earlier row of the file.
    pub duplicates_in_file: usize,
    /// Rows refused, with their row number and why; at most 1,000.
    pub rejected: Vec<RejectedRow>,
    /// Every refused row, listed or not.
    pub rejected_count: usize,
}

/// Upload a suppression list (CSV)
///
/// A multipart field `file` or a `text/csv` body, same limits as a lead upload. Valid rows are
/// added in one transaction; bad rows are listed.
#[utoipa::path(
    post,
    path = "/suppressions/upload-csv",
    operation_id = "upload_suppressions",
    tag = "suppressions",
    request_body(
        description = "A header row with `phone` (any case) and optionally `reason`",
        content(
            (String = "text/csv"),
            (CsvUpload = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "What the upload did", body = SuppressionImportReport),
        (status = 400, description = "A malformed multipart body", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 413, description = "Larger than `MAX_UPLOAD_BYTES`", body = ErrorBody),
        (status = 415, description = "Neither multipart/form-data nor a CSV content type", body = ErrorBody),
        (status = 422, description = "The file cannot be read as a suppression list, or the form has no `file` field", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn upload_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<SuppressionImportReport>, ApiError> {
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
    Ok(web::Json(SuppressionImportReport {
        accepted: added,
        already_suppressed: parsed.entries.len() as u64 - added,
        duplicates_in_file: parsed.duplicates_in_file,
        rejected,
        rejected_count,
    }))
}
