//! `/campaigns`: create, list, read and edit campaigns.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
use super::extract::{Page, QueryParams, ValidJson};
use super::{ApiError, AppState};
use crate::config::CallingDays;
use crate::domain::CampaignStatus;
use crate::handoff::{TransferHours, TransferNumbers, TransferStrategy};
use crate::scheduling::{RegulatoryHours, WindowSide};
use crate::store::{
    Campaign, CampaignPatch, CampaignSettings, HandoffSettings, NewCampaign, WebhookDelivery,
};

/// The body of `POST /campaigns` and `PATCH /campaigns/{id}`; absent fields take the
/// configured defaults on create and stay unchanged on edit.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    /// 1 to 200 characters; required on create.
    pub name: Option<String>,
    /// A playbook of the catalog (`PLAYBOOK_DIR`), by name.
    pub playbook: Option<String>,
    /// The hour calls may begin, 0..=23, in `timezone`.
    pub calling_hours_start: Option<u32>,
    /// The hour calls stop, 1..=24; earlier than the start means the window crosses midnight.
    pub calling_hours_end: Option<u32>,
    /// An IANA time zone (`Asia/Kolkata`).
    pub timezone: Option<String>,
    /// Comma-separated days and ranges, any case, full or short names: `Mon-Fri,Sun`, `Sat-Mon`.
    pub calling_days: Option<String>,
    /// 1..=10000.
    pub max_concurrent_calls: Option<u32>,
    /// 1..=20.
    pub max_attempts: Option<u32>,
    /// 0..=43200.
    pub retry_no_answer_minutes: Option<u32>,
    /// 0..=43200.
    pub retry_busy_minutes: Option<u32>,
    /// Wait before calling again after a machine answered (voicemail, a carrier announcement).
    pub retry_voicemail_minutes: Option<u32>,
    /// Transactional or service calls, not held to `REGULATORY_HOURS`; settable while DRAFT.
    pub transactional: Option<bool>,
    /// Where the campaign's events are POSTed (http or https); `""` removes it.
    pub webhook_url: Option<String>,
    /// Hand-off to a human: the numbers a willing lead is transferred to (E.164, at most 20;
    /// `[]` turns transfers off). Used only in `EXOTEL_CONNECT_MODE=flow`.
    pub transfer_numbers: Option<Vec<String>>,
    /// `in_order` (the first free number) or `round_robin`.
    pub transfer_strategy: Option<String>,
    /// The human team's hours, `HH:MM-HH:MM` in `timezone`; outside them the agent offers a
    /// call-back instead. `""` removes them.
    pub transfer_hours: Option<String>,
    /// 1..=1000 transfers ringing or talking at once.
    pub max_concurrent_transfers: Option<u32>,
}

/// A webhook URL: http(s) with a host, at most 2,000 characters, and a secret to sign with.
fn check_webhook_url(url: &str, state: &AppState) -> Result<String, ApiError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let bad = |why: &str| ApiError::invalid("webhook_url", format!("webhook_url {why}"));
    if url.len() > 2000 {
        return Err(bad("must be at most 2000 characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("must be an http or https URL with a host"));
    }
    if state.settings.outbound_webhook_secret.is_none() {
        return Err(bad(
            "needs OUTBOUND_WEBHOOK_SECRET set on the server (events are signed with it)",
        ));
    }
    Ok(url.to_string())
}

/// A new campaign's `retry_voicemail_minutes` when the request leaves it out: a machine today
/// often means a person a couple of hours later.
pub const DEFAULT_RETRY_VOICEMAIL_MINUTES: u32 = 120;

fn in_range(
    field: &str,
    value: Option<u32>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, ApiError> {
    match value {
        Some(v) if !range.contains(&v) => Err(ApiError::invalid(
            field,
            format!("{field} must be in {}..={}", range.start(), range.end()),
        )),
        other => Ok(other),
    }
}

impl CampaignBody {
    /// Checks every present field on its own; returns the edit in canonical form.
    fn validate(&self, state: &AppState) -> Result<CampaignPatch, ApiError> {
        let name = match &self.name {
            Some(n) if n.trim().is_empty() || n.trim().chars().count() > 200 => {
                return Err(ApiError::invalid(
                    "name",
                    "name must be 1 to 200 characters",
                ))
            }
            other => other.as_ref().map(|n| n.trim().to_string()),
        };
        let timezone = match &self.timezone {
            Some(tz) => Some(
                tz.parse::<Tz>()
                    .map_err(|_| {
                        ApiError::invalid("timezone", format!("unknown IANA time zone {tz:?}"))
                    })?
                    .name()
                    .to_string(),
            ),
            None => None,
        };
        let calling_days = match &self.calling_days {
            Some(days) => Some(
                CallingDays::parse(days)
                    .map_err(|e| ApiError::invalid("calling_days", e))?
                    .canonical(),
            ),
            None => None,
        };
        let playbook = match &self.playbook {
            Some(p) => Some(
                state
                    .playbooks
                    .resolve(p)
                    .map_err(|e| ApiError::invalid("playbook", e))?,
            ),
            None => None,
        };
        Ok(CampaignPatch {
            name,
            playbook,
            calling_hours_start: in_range("calling_hours_start", self.calling_hours_start, 0..=23)?,
            calling_hours_end: in_range("calling_hours_end", self.calling_hours_end, 1..=24)?,
            timezone,
            calling_days,
            max_concurrent_calls: in_range(
                "max_concurrent_calls",
                self.max_concurrent_calls,
                1..=10_000,
            )?,
            max_attempts: in_range("max_attempts", self.max_attempts, 1..=20)?,
            retry_no_answer_minutes: in_range(
                "retry_no_answer_minutes",
                self.retry_no_answer_minutes,
                0..=43_200,
            )?,
            retry_busy_minutes: in_range(
                "retry_busy_minutes",
                self.retry_busy_minutes,
                0..=43_200,
            )?,
            retry_voicemail_minutes: in_range(
                "retry_voicemail_minutes",
                self.retry_voicemail_minutes,
                0..=43_200,
            )?,
            transactional: self.transactional,
            webhook_url: match &self.webhook_url {
                Some(url) => Some(check_webhook_url(url, state)?),
                None => None,
            },
            transfer_numbers: match &self.transfer_numbers {
                Some(raw) => Some(
                    TransferNumbers::parse(raw)
                        .map_err(|e| ApiError::invalid("transfer_numbers", e))?,
                ),
                None => None,
            },
            transfer_strategy: match &self.transfer_strategy {
                Some(raw) => Some(TransferStrategy::parse(raw).ok_or_else(|| {
                    ApiError::invalid(
                        "transfer_strategy",
                        format!("transfer_strategy must be in_order or round_robin, not {raw:?}"),
                    )
                })?),
                None => None,
            },
            transfer_hours: match self.transfer_hours.as_deref().map(str::trim) {
                Some("") => Some(String::new()),
                Some(raw) => Some(
                    TransferHours::parse(raw)
                        .map_err(|e| ApiError::invalid("transfer_hours", e))?
                        .canonical(),
                ),
                None => None,
            },
            max_concurrent_transfers: in_range(
                "max_concurrent_transfers",
                self.max_concurrent_transfers,
                1..=1000,
            )?,
        })
    }
}

/// A window whose start equals its end is empty; one whose start is later crosses midnight.
/// A promotional campaign's window must also lie inside the law's hours (`REGULATORY_HOURS`).
fn check_window(
    start: u32,
    end: u32,
    transactional: bool,
    floor: RegulatoryHours,
) -> Result<(), ApiError> {
    if start == end {
        return Err(ApiError::invalid(
            "calling_hours_end",
            "calling_hours_end must differ from calling_hours_start",
        ));
    }
    if transactional {
        return Ok(());
    }
    floor.check_window(start, end).map_err(|side| {
        let field = match side {
            WindowSide::Start => "calling_hours_start",
            WindowSide::End => "calling_hours_end",
        };
        ApiError::invalid(
            field,
            format!(
                "calling hours {start}–{end} leave the regulatory window {floor} \
                 (REGULATORY_HOURS, in the campaign's time zone; TRAI's TCCCPR 2018 hours for \
                 promotional calls); narrow the window, or create the campaign with \
                 \"transactional\": true for transactional or service calls"
            ),
        )
    })
}

/// Create a campaign
///
/// Absent fields take the server's configured defaults. A promotional campaign's calling
/// window must lie inside `REGULATORY_HOURS`.
#[utoipa::path(
    post,
    path = "/campaigns",
    operation_id = "create_campaign",
    tag = "campaigns",
    request_body = CampaignBody,
    responses(
        (status = 201, description = "The new campaign, DRAFT", body = Campaign,
            headers(("Location" = String, description = "`/campaigns/{id}` of the new campaign"))),
        (status = 400, description = "Malformed JSON, a wrong type or an unknown field (`field` names it)", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = ErrorBody),
        (status = 422, description = "A field out of range, an unknown playbook or time zone, a window outside the regulatory hours (`field` names it)", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    body: ValidJson<CampaignBody>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.0.validate(&state)?;
    let name = patch
        .name
        .clone()
        .ok_or_else(|| ApiError::invalid("name", "name is required"))?;
    let defaults = &state.settings.calling;
    let playbook = match patch.playbook {
        Some(p) => p,
        None => state
            .playbooks
            .resolve(crate::conversation::playbook_catalog::PlaybookCatalog::DEFAULT)
            .map_err(|e| ApiError::invalid("playbook", e))?,
    };
    let settings = CampaignSettings {
        playbook,
        calling_hours_start: patch.calling_hours_start.unwrap_or(defaults.hours_start),
        calling_hours_end: patch.calling_hours_end.unwrap_or(defaults.hours_end),
        timezone: patch
            .timezone
            .unwrap_or_else(|| defaults.timezone.name().to_string()),
        calling_days: patch
            .calling_days
            .unwrap_or_else(|| defaults.days.canonical()),
        max_concurrent_calls: patch
            .max_concurrent_calls
            .unwrap_or(state.settings.max_concurrent_calls),
        max_attempts: patch.max_attempts.unwrap_or(defaults.max_attempts),
        retry_no_answer_minutes: patch
            .retry_no_answer_minutes
            .unwrap_or(defaults.retry_no_answer_minutes),
        retry_busy_minutes: patch
            .retry_busy_minutes
            .unwrap_or(defaults.retry_busy_minutes),
        retry_voicemail_minutes: patch
            .retry_voicemail_minutes
            .unwrap_or(DEFAULT_RETRY_VOICEMAIL_MINUTES),
        webhook_url: patch.webhook_url.clone().filter(|u| !u.is_empty()),
        handoff: HandoffSettings {
            numbers: patch.transfer_numbers.clone().unwrap_or_default(),
            strategy: patch.transfer_strategy.unwrap_or_default(),
            hours: patch
                .transfer_hours
                .as_deref()
                .and_then(|h| TransferHours::parse(h).ok()),
            max_concurrent: patch.max_concurrent_transfers.unwrap_or(1),
        },
    };
    let transactional = patch.transactional.unwrap_or(false);
    check_window(
        settings.calling_hours_start,
        settings.calling_hours_end,
        transactional,
        defaults.regulatory_hours,
    )?;
    let new = NewCampaign {
        name,
        settings,
        transactional,
    };
    let campaign = state.store.create_campaign(&new, state.clock.now()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/campaigns/{}", campaign.id)))
        .json(campaign))
}

/// A page of campaigns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignList {
    pub items: Vec<Campaign>,
    /// Campaigns in all, not only on this page.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// List campaigns
#[utoipa::path(
    get,
    path = "/campaigns",
    operation_id = "list_campaigns",
    tag = "campaigns",
    params(Page),
    responses(
        (status = 200, description = "A page of campaigns, newest first", body = CampaignList),
        (status = 400, description = "An unparsable `limit` or `offset`", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 422, description = "`limit` or `offset` out of range", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<CampaignList>, ApiError> {
    let page = Page::from_query(&QueryParams::from_request(&req)?)?;
    let (items, total) = state.store.list_campaigns(page.limit, page.offset).await?;
    Ok(web::Json(CampaignList {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// A page of a campaign's webhook deliveries. Unlike the other lists it has no `total`: the
/// store reads only the page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDeliveries {
    pub items: Vec<WebhookDelivery>,
    pub limit: i64,
    pub offset: i64,
}

/// List a campaign's webhook deliveries
///
/// Newest first: event, status, attempts, the last HTTP status or error, when it is next tried.
#[utoipa::path(
    get,
    path = "/campaigns/{id}/webhook-deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id"), Page),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = WebhookDeliveries),
        (status = 400, description = "A non-integer id, an unparsable `limit` or `offset`", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "`limit` or `offset` out of range", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn webhook_deliveries(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<web::Json<WebhookDeliveries>, ApiError> {
    let page = Page::from_query(&QueryParams::from_request(&req)?)?;
    let id = id.into_inner();
    state.store.campaign(id).await?;
    let items = state
        .store
        .webhook_deliveries(id, page.limit, page.offset)
        .await?;
    Ok(web::Json(WebhookDeliveries {
        items,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// Read a campaign
#[utoipa::path(
    get,
    path = "/campaigns/{id}",
    operation_id = "get_campaign",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign with its progress counters", body = Campaign),
        (status = 400, description = "A non-integer id", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Campaign>, ApiError> {
    Ok(web::Json(state.store.campaign(id.into_inner()).await?))
}

/// Edit a campaign
///
/// Edits take effect on the campaign's next scheduling decision: the scheduler reads the row
/// afresh each time. A COMPLETED campaign is read-only (409); `transactional` changes only
/// while DRAFT (409); the window is held to the regulatory floor as on create (422).
#[utoipa::path(
    patch,
    path = "/campaigns/{id}",
    operation_id = "update_campaign",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body(content = CampaignBody, description = "Only the fields to change"),
    responses(
        (status = 200, description = "The campaign as edited", body = Campaign),
        (status = 400, description = "A non-integer id; malformed JSON, a wrong type or an unknown field", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "The campaign is COMPLETED, or `transactional` changed after DRAFT", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = ErrorBody),
        (status = 422, description = "A field out of range, an unknown playbook or time zone, a window outside the regulatory hours", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ValidJson<CampaignBody>,
) -> Result<web::Json<Campaign>, ApiError> {
    let id = id.into_inner();
    let patch = body.0.validate(&state)?;
    let current = state.store.campaign(id).await?;
    if !current.status.is_editable() {
        return Err(ApiError::Conflict(format!(
            "campaign {id} is {} and read-only",
            current.status
        )));
    }
    let start = patch
        .calling_hours_start
        .unwrap_or(current.calling_hours_start as u32);
    let end = patch
        .calling_hours_end
        .unwrap_or(current.calling_hours_end as u32);
    let transactional = patch.transactional.unwrap_or(current.transactional);
    if transactional != current.transactional && current.status != CampaignStatus::Draft {
        return Err(ApiError::Conflict(format!(
            "campaign {id} is {}: transactional can only be changed while it is DRAFT",
            current.status
        )));
    }
    check_window(
        start,
        end,
        transactional,
        state.settings.calling.regulatory_hours,
    )?;
    let updated = state
        .store
        .update_campaign(id, &patch, state.clock.now())
        .await?;
    Ok(web::Json(updated))
}
