//! The cluster-wide views behind `/debug/sessions`, `/debug/actors` and the console's live
//! view: this node's part read in-process, every other node's part asked over HTTP with
//! `?scope=node` (so a node asked by a peer never asks further), each part marked with its
//! node.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::actors::call_registry::LiveCall;
use crate::actors::campaign_supervisor::{Snapshot, SupervisorSnapshot};
use crate::api::debug::ActorTree;
use crate::api::AppState;
use crate::call::call_actor::GetCallState;
use crate::store::NodeRow;

/// How much of the cluster a view covers (`?scope=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every live node (the default).
    #[default]
    Cluster,
    /// This node only: what peers ask each other.
    Node,
}

impl std::str::FromStr for Scope {
    type Err = ();
    fn from_str(s: &str) -> Result<Scope, ()> {
        match s {
            "cluster" => Ok(Scope::Cluster),
            "node" => Ok(Scope::Node),
            _ => Err(()),
        }
    }
}

/// `?scope=cluster|node`; anything else is a 400 naming `scope`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// `cluster` (default): every live node, each part marked; `node`: this node only.
    #[param(required = false, inline)]
    pub scope: Scope,
}

impl actix_web::FromRequest for ScopeQuery {
    type Error = crate::api::ApiError;
    type Future = std::future::Ready<Result<ScopeQuery, crate::api::ApiError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let scope = crate::api::extract::QueryParams::from_request(req)
            .and_then(|query| query.get::<Scope>("scope"))
            .map(|scope| ScopeQuery {
                scope: scope.unwrap_or_default(),
            });
        std::future::ready(scope)
    }
}

/// How long each view waits: for a call actor to describe itself, and for a peer's part.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub call_actor: Duration,
    pub peer: Duration,
}

/// The live calls of the cluster (or of this node).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveSessions {
    pub count: usize,
    /// Every live call, oldest dial first, each marked with the node carrying it.
    pub sessions: Vec<LiveSession>,
    /// Each node asked: this one, and with `scope=cluster` every other live node, answered or
    /// not (an unreachable node's calls are missing from `sessions`, and this says so).
    pub nodes: Vec<NodePart>,
}

/// A live call, with its conversation when its media session is up.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveSession {
    /// The node whose registry holds the call (it dialed it, or carries its media socket).
    pub node_id: String,
    #[serde(flatten)]
    pub call: LiveCall,
    /// The call actor's own view (stage, turn, who is speaking, …), free-form: its fields are
    /// whatever the actor reports. Absent before the media socket opens, or when the actor did
    /// not answer in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub conversation: Option<serde_json::Value>,
}

/// One node's part in a cluster view.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodePart {
    pub node_id: String,
    /// The node that answered the request.
    pub this_node: bool,
    /// How many items it gave (live calls, campaign actors); `None` when it did not answer.
    pub items: Option<usize>,
    /// Why it gave nothing (unreachable, timed out, refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// This node's live calls, each call actor asked at once (a slow one costs the view its
/// deadline once, not once per call).
pub async fn local_sessions(state: &AppState, deadline: Duration) -> Vec<LiveSession> {
    let mut calls = state.engine.registry.list();
    calls.sort_by_key(|c| c.dialed_at);
    let asks = calls.iter().map(|call| async move {
        let actor = call.actor.as_ref()?;
        match tokio::time::timeout(deadline, actor.send(GetCallState)).await {
            Ok(Ok(live)) => Some(live),
            _ => None,
        }
    });
    let conversations = futures::future::join_all(asks).await;
    let node_id = &state.settings.node_id;
    calls
        .into_iter()
        .zip(conversations)
        .map(|(call, conversation)| LiveSession {
            node_id: node_id.clone(),
            call,
            conversation,
        })
        .collect()
}

/// The live calls of `scope`.
pub async fn sessions(state: &AppState, scope: Scope, deadlines: Deadlines) -> LiveSessions {
    let mut sessions = local_sessions(state, deadlines.call_actor).await;
    let mut nodes = vec![this_part(state, sessions.len())];
    if scope == Scope::Cluster {
        let cluster = cluster_nodes(state).await;
        let path = "/debug/sessions?scope=node";
        for peer in state
            .peers
            .ask_all::<LiveSessions>(&cluster, path, deadlines.peer)
            .await
        {
            let part = match peer.answer {
                Ok(theirs) => {
                    let items = theirs.sessions.len();
                    sessions.extend(theirs.sessions);
                    peer_part(peer.node_id, Ok(items))
                }
                Err(e) => peer_part(peer.node_id, Err(e)),
            };
            nodes.push(part);
        }
        sessions.sort_by_key(|s| s.call.dialed_at);
    }
    LiveSessions {
        count: sessions.len(),
        sessions,
        nodes,
    }
}

/// The campaign side of one node's actor tree.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeTree {
    pub node_id: String,
    /// The campaign supervisor's snapshot (tokens, each campaign actor's queue and next due
    /// call); `None` when the node did not answer.
    pub supervisor: Option<SupervisorSnapshot>,
    /// Why there is no snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// This node's campaign supervisor, asked within `deadline`.
pub async fn local_tree(state: &AppState, deadline: Duration) -> NodeTree {
    let ask = tokio::time::timeout(deadline, state.campaigns.send(Snapshot)).await;
    let (supervisor, error) = match ask {
        Ok(Ok(snapshot)) => (Some(snapshot), None),
        Ok(Err(e)) => (
            None,
            Some(format!("campaign supervisor not answering: {e}")),
        ),
        Err(_) => (
            None,
            Some("campaign supervisor not answering in time".into()),
        ),
    };
    NodeTree {
        node_id: state.settings.node_id.clone(),
        supervisor,
        error,
    }
}

/// Every other live node's tree (their `/debug/actors?scope=node`), in node order.
pub async fn peer_trees(
    state: &AppState,
    cluster: &[NodeRow],
    deadline: Duration,
) -> Vec<NodeTree> {
    let path = "/debug/actors?scope=node";
    state
        .peers
        .ask_all::<ActorTree>(cluster, path, deadline)
        .await
        .into_iter()
        .map(|peer| match peer.answer {
            Ok(tree) => tree.into_node_tree(),
            Err(error) => NodeTree {
                node_id: peer.node_id,
                supervisor: None,
                error: Some(error),
            },
        })
        .collect()
}

/// The cluster's nodes as their heartbeats describe them (empty if the database is away: the
/// views then show this node alone rather than fail).
pub async fn cluster_nodes(state: &AppState) -> Vec<NodeRow> {
    state.store.nodes().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the cluster's nodes");
        Vec::new()
    })
}

fn this_part(state: &AppState, items: usize) -> NodePart {
    NodePart {
        node_id: state.settings.node_id.clone(),
        this_node: true,
        items: Some(items),
        error: None,
    }
}

fn peer_part(node_id: String, answer: Result<usize, String>) -> NodePart {
    let (items, error) = match answer {
        Ok(n) => (Some(n), None),
        Err(e) => (None, Some(e)),
    };
    NodePart {
        node_id,
        this_node: false,
        items,
        error,
    }
}
