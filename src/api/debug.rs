//! `GET /debug/sessions` (live calls from the registries) and `GET /debug/actors` (the campaign
//! side of the actor tree): what an engineer on call looks at first. Both cover the whole
//! cluster by default, each part marked with its node (`cluster::views`).

use std::time::Duration;

use actix_web::web;
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::actors::campaign_supervisor::SupervisorSnapshot;
use crate::cluster::views::{self, Deadlines, LiveSessions, NodeTree, Scope, ScopeQuery};

/// An engineer's view may wait this long for each part (they run at once).
const DEADLINES: Deadlines = Deadlines {
    call_actor: Duration::from_millis(500),
    peer: Duration::from_secs(2),
};

/// List the live calls
///
/// Every live call of the cluster (or, with `scope=node`, of this node), oldest dial first,
/// each with the node carrying it and its conversation state when its media session is up.
/// `nodes` lists each node asked and whether it answered.
#[utoipa::path(
    get,
    path = "/debug/sessions",
    operation_id = "live_sessions",
    tag = "operations",
    params(ScopeQuery),
    responses(
        (status = 200, description = "The live calls", body = LiveSessions),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
)]
pub async fn sessions(state: web::Data<AppState>, query: ScopeQuery) -> web::Json<LiveSessions> {
    web::Json(views::sessions(&state, query.scope, DEADLINES).await)
}

/// The campaign side of the actor tree.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActorTree {
    /// `System`.
    pub name: String,
    /// The node that answered; `children` is this node's tree.
    pub node_id: String,
    /// Every node of the cluster as its heartbeats describe them (status, lease, live calls,
    /// tokens, URL), this one included.
    pub cluster: Vec<crate::store::NodeRow>,
    /// The campaign supervisor, then the call registry.
    pub children: Vec<ActorNode>,
    /// With `scope=cluster` (the default): every other live node's campaign supervisor, or
    /// why it did not answer.
    #[serde(default)]
    pub peers: Vec<NodeTree>,
}

/// One child of the tree.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ActorNode {
    /// `CampaignSupervisor`, with its campaign actors.
    Supervisor {
        name: String,
        state: SupervisorSnapshot,
    },
    /// `CallRegistry`.
    Registry { name: String, live_calls: usize },
}

/// Show the actor tree
///
/// This node's campaign supervisor (tokens, each campaign actor's queue and next due call)
/// and call registry, the cluster's nodes from their heartbeats, and (unless `scope=node`)
/// every other live node's supervisor.
#[utoipa::path(
    get,
    path = "/debug/actors",
    operation_id = "actor_tree",
    tag = "operations",
    params(ScopeQuery),
    responses(
        (status = 200, description = "The actor tree", body = ActorTree),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 503, description = "The campaign supervisor is not answering", body = ErrorBody),
    ),
)]
pub async fn actors(
    state: web::Data<AppState>,
    query: ScopeQuery,
) -> Result<web::Json<ActorTree>, ApiError> {
    let mine = views::local_tree(&state, DEADLINES.peer).await;
    let Some(supervisor) = mine.supervisor else {
        return Err(ApiError::Unavailable(mine.error.unwrap_or_default()));
    };
    let cluster = state.store.nodes().await?;
    let peers = match query.scope {
        Scope::Cluster => views::peer_trees(&state, &cluster, DEADLINES.peer).await,
        Scope::Node => Vec::new(),
    };
    Ok(web::Json(ActorTree {
        name: "System".into(),
        node_id: state.settings.node_id.clone(),
        cluster,
        children: vec![
            ActorNode::Supervisor {
                name: "CampaignSupervisor".into(),
                state: supervisor,
            },
            ActorNode::Registry {
                name: "CallRegistry".into(),
                live_calls: state.engine.registry.len(),
            },
        ],
        peers,
    }))
}

impl ActorTree {
    /// The node's own part, as a peer's view shows it.
    pub fn into_node_tree(self) -> NodeTree {
        let supervisor = self.children.into_iter().find_map(|child| match child {
            ActorNode::Supervisor { state, .. } => Some(state),
            ActorNode::Registry { .. } => None,
        });
        NodeTree {
            error: supervisor
                .is_none()
                .then(|| "no campaign supervisor in its tree".into()),
            node_id: self.node_id,
            supervisor,
        }
    }
}
