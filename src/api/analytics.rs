//! `GET /analytics/campaign/{id}`.

use actix_web::web;

use super::{ApiError, AppState};
use crate::store::CampaignAnalytics;

pub async fn campaign(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignAnalytics>, ApiError> {
    Ok(web::Json(
        state.store.campaign_analytics(id.into_inner()).await?,
    ))
}
