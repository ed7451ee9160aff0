//! `POST /campaigns/{id}/start` and `/pause`: the operator's switches. The database changes
//! first (it is what a restarted process resumes from), then the supervisor is told.

use actix_web::web;

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::actors::campaign_supervisor::{PauseCampaign, StartCampaign};
use crate::domain::CampaignStatus;
use crate::store::Campaign;

/// Start or resume a campaign
///
/// Starts a DRAFT campaign or resumes a PAUSED one; starting a started one changes nothing.
#[utoipa::path(
    post,
    path = "/campaigns/{id}/start",
    operation_id = "start_campaign",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign, RUNNING (or SCHEDULED as it was)", body = Campaign),
        (status = 400, description = "A non-integer id", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "The campaign is COMPLETED, or changed state meanwhile", body = ErrorBody),
        (status = 422, description = "The campaign has no leads, or a provider setting calls need is missing (`field` names it)", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn start(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Campaign>, ApiError> {
    let id = id.into_inner();
    let campaign = state.store.campaign(id).await?;
    let campaign = match campaign.status {
        CampaignStatus::Running | CampaignStatus::Scheduled => campaign,
        CampaignStatus::Completed => {
            return Err(ApiError::Conflict(format!("campaign {id} is COMPLETED")));
        }
        CampaignStatus::Draft | CampaignStatus::Paused => {
            if campaign.total_leads == 0 {
                return Err(ApiError::Unprocessable {
                    message: "the campaign has no leads; upload a CSV first".into(),
                    field: None,
                });
            }
            // A provider whose key is missing is not silently faked (the sandbox sets fakes).
            let missing = state
                .engine
                .exotel
                .missing_setting()
                .or_else(|| crate::call::CallProviders::missing_setting(&state.settings));
            if let Some(var) = missing {
                return Err(ApiError::Unprocessable {
                    message: format!("calls need {var}; set it, or try `voice-runtime sandbox`"),
                    field: Some(var.to_string()),
                });
            }
            state
                .store
                .transition_campaign(id, CampaignStatus::Running, state.clock.now())
                .await?
        }
    };
    state.campaigns.do_send(StartCampaign(id));
    Ok(web::Json(campaign))
}

/// Pause a campaign
///
/// Stops new dials at once; calls in progress finish normally. Pausing a paused one changes
/// nothing.
#[utoipa::path(
    post,
    path = "/campaigns/{id}/pause",
    operation_id = "pause_campaign",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign, PAUSED", body = Campaign),
        (status = 400, description = "A non-integer id", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "The campaign is COMPLETED, or changed state meanwhile", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn pause(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Campaign>, ApiError> {
    let id = id.into_inner();
    let campaign = state.store.campaign(id).await?;
    let campaign = match campaign.status {
        CampaignStatus::Paused => campaign,
        _ => {
            state
                .store
                .transition_campaign(id, CampaignStatus::Paused, state.clock.now())
                .await?
        }
    };
    state.campaigns.do_send(PauseCampaign(id));
    Ok(web::Json(campaign))
}
