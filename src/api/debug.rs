//! `GET /debug/sessions` (live calls from the registry) and `GET /debug/actors` (the campaign
//! side of the actor tree): what an engineer on call looks at first.

use actix_web::web;
use serde::Serialize;

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::actors::call_registry::LiveCall;
use crate::actors::campaign_supervisor::{Snapshot, SupervisorSnapshot};
use crate::call::call_actor::GetCallState;

/// The live calls of this node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveSessions {
    pub count: usize,
    pub sessions: Vec<LiveSession>,
}

/// A live call, with its conversation when its media session is up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveSession {
    #[serde(flatten)]
    pub call: LiveCall,
    /// The call actor's own view (stage, turn, who is speaking, …), free-form: its fields are
    /// whatever the actor reports. Absent before the media socket opens, or when the actor did
    /// not answer within 500 ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub conversation: Option<serde_json::Value>,
}

/// List the live calls
///
/// Every live call of this node, oldest dial first, with its conversation state when its
/// media session is up.
#[utoipa::path(
    get,
    path = "/debug/sessions",
    operation_id = "live_sessions",
    tag = "operations",
    responses(
        (status = 200, description = "The live calls", body = LiveSessions),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
)]
pub async fn sessions(state: web::Data<AppState>) -> web::Json<LiveSessions> {
    let calls = state.engine.registry.list();
    let mut sessions = Vec::with_capacity(calls.len());
    for call in calls {
        let mut conversation = None;
        if let Some(actor) = &call.actor {
            let ask = actor.send(GetCallState);
            if let Ok(Ok(live)) =
                tokio::time::timeout(std::time::Duration::from_millis(500), ask).await
            {
                conversation = Some(live);
            }
        }
        sessions.push(LiveSession { call, conversation });
    }
    web::Json(LiveSessions {
        count: sessions.len(),
        sessions,
    })
}

/// The campaign side of the actor tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActorTree {
    /// `System`.
    pub name: &'static str,
    /// The node that answered; the tree below is this node's.
    pub node_id: String,
    /// Every node of the cluster as its heartbeats describe it (status, lease, live calls,
    /// tokens), this one included.
    pub cluster: Vec<crate::store::NodeRow>,
    /// The campaign supervisor, then the call registry.
    pub children: Vec<ActorNode>,
}

/// One child of the tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ActorNode {
    /// `CampaignSupervisor`, with its campaign actors.
    Supervisor {
        name: &'static str,
        state: SupervisorSnapshot,
    },
    /// `CallRegistry`.
    Registry {
        name: &'static str,
        live_calls: usize,
    },
}

/// Show the actor tree
///
/// The campaign supervisor's snapshot (tokens, each campaign actor's queue and next due call)
/// and the call registry's size, with the cluster's nodes from their heartbeats.
#[utoipa::path(
    get,
    path = "/debug/actors",
    operation_id = "actor_tree",
    tag = "operations",
    responses(
        (status = 200, description = "The actor tree", body = ActorTree),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 503, description = "The campaign supervisor is not answering", body = ErrorBody),
    ),
)]
pub async fn actors(state: web::Data<AppState>) -> Result<web::Json<ActorTree>, ApiError> {
    let supervisor =
        state.campaigns.send(Snapshot).await.map_err(|e| {
            ApiError::Unavailable(format!("campaign supervisor not answering: {e}"))
        })?;
    let cluster = state.store.nodes().await?;
    Ok(web::Json(ActorTree {
        name: "System",
        node_id: state.settings.node_id.clone(),
        cluster,
        children: vec![
            ActorNode::Supervisor {
                name: "CampaignSupervisor",
                state: supervisor,
            },
            ActorNode::Registry {
                name: "CallRegistry",
                live_calls: state.engine.registry.len(),
            },
        ],
    }))
}
