//! `/campaigns/{id}/upload-csv` and `/campaigns/{id}/leads`.

use actix_multipart::Multipart;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{web, HttpRequest};
use futures::{Stream, StreamExt};
use serde::Serialize;

use super::error::ErrorBody;
use super::extract::{Page, QueryParams};
use super::{ApiError, AppState};
use crate::domain::{LeadStatus, Phone};
use crate::leads::csv_import::{parse_leads, CsvFileError, RejectedRow};
use crate::store::{Lead, LeadFilter, NewLead};

/// At most this many rejected rows are listed in the response; `rejected_count` has them all.
const MAX_LISTED_REJECTIONS: usize = 1000;

/// What a lead upload did, row by row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadImportReport {
    /// Leads added to the campaign.
    pub accepted: u64,
    /// Rows refused, with their row number (the header is row 1) and why; at most 1,000.
    pub rejected: Vec<RejectedRow>,
    /// Every refused row, listed or not.
    pub rejected_count: usize,
    /// `duplicates_in_file` + `duplicates_existing`.
    pub duplicates: u64,
    /// Rows whose phone appeared on an earlier row of the file.
    pub duplicates_in_file: usize,
    /// Rows whose phone the campaign already had.
    pub duplicates_existing: u64,
    /// Rows left out because their number is on the suppression list.
    pub suppressed: usize,
    /// Those rows, with the list's reason; at most 1,000.
    pub suppressed_rows: Vec<RejectedRow>,
}

/// Upload a lead list (CSV)
///
/// The CSV comes as a multipart field `file` or as a `text/csv` body. All accepted rows are
/// inserted in one transaction, or none are. Rows outside `ALLOWED_COUNTRY_CODES` are
/// rejected; numbers on the suppression list are left out.
#[utoipa::path(
    post,
    path = "/campaigns/{id}/upload-csv",
    operation_id = "upload_leads",
    tag = "leads",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body(
        description = "A header row with `name` and `phone` (any case); `email`, `property_type`, `location`, `budget` and any other column are kept",
        content(
            (String = "text/csv"),
            (CsvUpload = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "What the upload did", body = LeadImportReport),
        (status = 400, description = "A non-integer id, a malformed multipart body", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "The campaign is COMPLETED", body = ErrorBody),
        (status = 413, description = "Larger than `MAX_UPLOAD_BYTES`", body = ErrorBody),
        (status = 415, description = "Neither multipart/form-data nor a CSV content type", body = ErrorBody),
        (status = 422, description = "The file cannot be read as a lead list (empty, not UTF-8, no phone column), or the form has no `file` field", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn upload_csv(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<LeadImportReport>, ApiError> {
    let limit = state.settings.max_upload_bytes;
    refuse_declared_oversize(&req, limit)?;
    let campaign_id = id.into_inner();
    let campaign = state.store.campaign(campaign_id).await?;
    if !campaign.status.is_editable() {
        return Err(ApiError::Conflict(format!(
            "campaign {campaign_id} is COMPLETED; leads cannot be added"
        )));
    }
    let bytes = read_upload(&req, payload, limit).await?;
    let parsed = web::block(move || parse_leads(&bytes))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e: CsvFileError| ApiError::invalid("file", e.to_string()))?;

    let mut rejected = parsed.rejected;
    let callable = only_allowed_countries(parsed.leads, &state, &mut rejected);
    let (callable, suppressed) = without_suppressed(callable, &state).await?;

    let existing = state.store.campaign_phones(campaign_id).await?;
    let mut duplicates_existing = 0usize;
    let fresh: Vec<NewLead> = callable
        .into_iter()
        .filter_map(|(_, lead)| {
            let known = existing.contains(&lead.phone);
            duplicates_existing += usize::from(known);
            (!known).then_some(lead)
        })
        .collect();
    let outcome = state
        .store
        .import_leads(campaign_id, &fresh, state.clock.now())
        .await?;
    // Rows another upload inserted while we parsed are duplicates too.
    let duplicates_existing = duplicates_existing as u64 + outcome.already_present;
    let rejected_count = rejected.len();
    rejected.truncate(MAX_LISTED_REJECTIONS);
    let suppressed_count = suppressed.len();
    let mut suppressed = suppressed;
    suppressed.truncate(MAX_LISTED_REJECTIONS);
    tracing::info!(
        campaign_id,
        accepted = outcome.inserted,
        rejected_count,
        suppressed_count,
        "leads imported"
    );
    Ok(web::Json(LeadImportReport {
        accepted: outcome.inserted,
        rejected,
        rejected_count,
        duplicates: parsed.duplicates_in_file as u64 + duplicates_existing,
        duplicates_in_file: parsed.duplicates_in_file,
        duplicates_existing,
        suppressed: suppressed_count,
        suppressed_rows: suppressed,
    }))
}

/// The multipart form of a CSV upload, as the OpenAPI document shows it; `read_upload` is
/// what reads it (other fields are read and dropped).
#[derive(utoipa::ToSchema)]
pub struct CsvUpload {
    /// The CSV file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Rows whose number is outside `ALLOWED_COUNTRY_CODES` join the rejected rows, in row order.
fn only_allowed_countries(
    leads: Vec<(usize, NewLead)>,
    state: &AppState,
    rejected: &mut Vec<RejectedRow>,
) -> Vec<(usize, NewLead)> {
    let allowed = &state.settings.allowed_country_codes;
    let before = rejected.len();
    let kept = leads
        .into_iter()
        .filter(|(row, lead)| {
            let ok = allowed.allows(&Phone::from_trusted(lead.phone.clone()));
            if !ok {
                rejected.push(RejectedRow {
                    row: *row,
                    reason: format!(
                        "phone {:?} is outside ALLOWED_COUNTRY_CODES ({})",
                        lead.phone,
                        allowed.listed()
                    ),
                });
            }
            ok
        })
        .collect();
    if rejected.len() > before {
        rejected.sort_by_key(|r| r.row);
    }
    kept
}

/// Rows whose number is on the suppression list are not imported: listed with the reason.
async fn without_suppressed(
    leads: Vec<(usize, NewLead)>,
    state: &AppState,
) -> Result<(Vec<(usize, NewLead)>, Vec<RejectedRow>), ApiError> {
    let phones: Vec<String> = leads.iter().map(|(_, l)| l.phone.clone()).collect();
    let listed = state.store.suppressed_among(&phones).await?;
    if listed.is_empty() {
        return Ok((leads, Vec::new()));
    }
    let mut suppressed = Vec::new();
    let kept = leads
        .into_iter()
        .filter(|(row, lead)| match listed.get(&lead.phone) {
            Some(reason) => {
                suppressed.push(RejectedRow {
                    row: *row,
                    reason: format!("on the do-not-call list: {reason}"),
                });
                false
            }
            None => true,
        })
        .collect();
    Ok((kept, suppressed))
}

/// A body whose declared length is over the limit is refused before a byte of it is read.
pub(super) fn refuse_declared_oversize(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(len) if len > limit => Err(ApiError::PayloadTooLarge { limit }),
        _ => Ok(()),
    }
}

/// The uploaded file's bytes, from a multipart `file` field or the raw body.
pub(super) async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        return read_multipart_file(Multipart::new(req.headers(), payload), limit).await;
    }
    let raw_ok = content_type.is_empty()
        || [
            "text/csv",
            "text/plain",
            "application/csv",
            "application/vnd.ms-excel",
            "application/octet-stream",
        ]
        .iter()
        .any(|t| content_type.starts_with(t));
    if !raw_ok {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the CSV as multipart/form-data (field \"file\") or as text/csv, not {content_type}"
        )));
    }
    read_limited(payload, limit).await
}

async fn read_multipart_file(mut form: Multipart, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut file = None;
    while let Some(field) = form.next().await {
        let field = field.map_err(|e| {
            ApiError::bad_request(Some("file"), format!("malformed multipart body: {e}"))
        })?;
        let is_file = field.name() == Some("file");
        let bytes = read_limited(field, limit).await?;
        if is_file && file.is_none() {
            file = Some(bytes);
        }
    }
    file.ok_or_else(|| ApiError::invalid("file", "the multipart form has no field named \"file\""))
}

/// Reads a stream of chunks, stopping with 413 as soon as it passes `limit`.
async fn read_limited<S, E>(stream: S, limit: usize) -> Result<Vec<u8>, ApiError>
where
    S: Stream<Item = Result<web::Bytes, E>>,
    E: std::fmt::Display,
{
    let mut stream = std::pin::pin!(stream);
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(Some("file"), format!("could not read the upload: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A page of a campaign's leads.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadList {
    pub items: Vec<Lead>,
    /// Leads that pass the filters, not only on this page.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// List a campaign's leads
///
/// In upload order, filtered by status and qualification.
#[utoipa::path(
    get,
    path = "/campaigns/{id}/leads",
    operation_id = "list_leads",
    tag = "leads",
    params(("id" = i64, Path, description = "Campaign id"), LeadFilter, Page),
    responses(
        (status = 200, description = "A page of leads", body = LeadList),
        (status = 400, description = "A non-integer id; an unparsable `qualified`, `limit` or `offset`", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "An unknown `status`; `limit` or `offset` out of range", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<web::Json<LeadList>, ApiError> {
    let campaign_id = id.into_inner();
    let query = QueryParams::from_request(&req)?;
    let page = Page::from_query(&query)?;
    let status = match query.get::<String>("status")? {
        Some(raw) => Some(LeadStatus::parse(&raw.to_ascii_uppercase()).ok_or_else(|| {
            let known: Vec<&str> = LeadStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid(
                "status",
                format!("unknown lead status {raw:?}; one of {}", known.join(", ")),
            )
        })?),
        None => None,
    };
    let filter = LeadFilter {
        status,
        qualified: query.get("qualified")?,
    };
    state.store.campaign(campaign_id).await?;
    let (items, total) = state
        .store
        .list_leads(campaign_id, &filter, page.limit, page.offset)
        .await?;
    Ok(web::Json(LeadList {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}
