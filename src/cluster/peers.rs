//! Asking the other nodes for their part of a view. Read-only GETs of this node's own REST API
//! on the peer, all at once with one deadline: a slow or dead peer costs the view that long
//! and shows as unreachable, never holds it up.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::store::NodeRow;

/// The HTTP client for the peers, shared by every view (one connection pool).
#[derive(Clone)]
pub struct Peers {
    http: reqwest::Client,
    /// The cluster's `API_KEY`, sent as the bearer token; every node has the same.
    api_key: Option<String>,
    /// This node: never asked over HTTP.
    me: String,
}

/// One peer's answer, or why there is none.
#[derive(Debug)]
pub struct PeerAnswer<T> {
    pub node_id: String,
    pub answer: Result<T, String>,
}

impl Peers {
    pub fn new(settings: &Settings) -> Peers {
        Peers {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1))
                .build()
                .unwrap_or_default(),
            api_key: settings.api_key.clone(),
            me: settings.node_id.clone(),
        }
    }

    /// The nodes worth asking: up, with a URL, not this one.
    pub fn others<'a>(&self, nodes: &'a [NodeRow]) -> Vec<&'a NodeRow> {
        nodes
            .iter()
            .filter(|n| n.status == "UP" && n.node_id != self.me && n.node_url.is_some())
            .collect()
    }

    /// `GET {node_url}{path}` on every other live node at once, each within `deadline`.
    pub async fn ask_all<T: DeserializeOwned>(
        &self,
        nodes: &[NodeRow],
        path: &str,
        deadline: Duration,
    ) -> Vec<PeerAnswer<T>> {
        let asks = self.others(nodes).into_iter().map(|node| async move {
            let url = format!("{}{path}", node.node_url.as_deref().unwrap_or_default());
            let answer = match tokio::time::timeout(deadline, self.get::<T>(&url)).await {
                Ok(answer) => answer,
                Err(_) => Err(format!("no answer within {} ms", deadline.as_millis())),
            };
            PeerAnswer {
                node_id: node.node_id.clone(),
                answer,
            }
        });
        futures::future::join_all(asks).await
    }

    async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut request = self.http.get(url);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        // The error names the failure, never the URL's credentials (there are none: the key
        // goes in a header) nor anything the peer returned beyond its status.
        let response = request.send().await.map_err(without_url)?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        response.json::<T>().await.map_err(without_url)
    }
}

fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_decode() {
        "an answer this node cannot read (another version?)"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}
