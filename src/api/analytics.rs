//! `GET /analytics/campaign/{id}`.

use actix_web::web;

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::store::CampaignAnalytics;

/// A campaign's figures
///
/// Leads and calls by status, answer, voicemail and qualification rates, outcomes, the
/// attempts histogram; computed in SQL on each request.
#[utoipa::path(
    get,
    path = "/analytics/campaign/{id}",
    operation_id = "campaign_analytics",
    tag = "analytics",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign's figures", body = CampaignAnalytics),
        (status = 400, description = "A non-integer id", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn campaign(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignAnalytics>, ApiError> {
    Ok(web::Json(
        state.store.campaign_analytics(id.into_inner()).await?,
    ))
}
