//! `GET /debug/sessions` (live calls from the registry) and `GET /debug/actors` (the campaign
//! side of the actor tree): what an engineer on call looks at first.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{ApiError, AppState};
use crate::actors::campaign_supervisor::Snapshot;
use crate::call::call_actor::GetCallState;

/// Every live call, with its conversation state when its media session is up.
pub async fn sessions(state: web::Data<AppState>) -> HttpResponse {
    let calls = state.engine.registry.list();
    let mut sessions = Vec::with_capacity(calls.len());
    for call in calls {
        let mut entry = serde_json::to_value(&call).unwrap_or_default();
        if let Some(actor) = &call.actor {
            let ask = actor.send(GetCallState);
            if let Ok(Ok(live)) =
                tokio::time::timeout(std::time::Duration::from_millis(500), ask).await
            {
                entry["conversation"] = live;
            }
        }
        sessions.push(entry);
    }
    HttpResponse::Ok().json(json!({"count": sessions.len(), "sessions": sessions}))
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
