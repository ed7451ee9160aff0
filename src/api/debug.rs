//! `GET /debug/sessions` (live calls from the registry) and `GET /debug/actors` (the campaign
//! side of the actor tree): what an engineer on call looks at first.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{ApiError, AppState};
use crate::actors::campaign_supervisor::Snapshot;

pub async fn sessions(state: web::Data<AppState>) -> HttpResponse {
    let calls = state.engine.registry.list();
    HttpResponse::Ok().json(json!({"count": calls.len(), "sessions": calls}))
}

pub async fn actors(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let supervisor =
        state.campaigns.send(Snapshot).await.map_err(|e| {
            ApiError::Unavailable(format!("campaign supervisor not answering: {e}"))
        })?;
    Ok(HttpResponse::Ok().json(json!({
        "name": "System",
        "children": [
            {"name": "CampaignSupervisor", "state": supervisor},
            {"name": "CallRegistry", "live_calls": state.engine.registry.len()},
        ]
    })))
}
