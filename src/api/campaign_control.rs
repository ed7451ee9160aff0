//! `POST /campaigns/{id}/start` and `/pause`: the operator's switches. The database changes
//! first (it is what a restarted process resumes from), then the supervisor is told.

use actix_web::web;

use super::{ApiError, AppState};
use crate::actors::campaign_supervisor::{PauseCampaign, StartCampaign};
use crate::domain::CampaignStatus;
use crate::store::Campaign;

/// Starts a DRAFT campaign or resumes a PAUSED one; starting a started one changes nothing.
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

/// Stops new dials at once; calls in progress finish normally.
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
