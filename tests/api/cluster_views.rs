//! The cluster-wide views: two in-process nodes on one database, each holding some of a
//! campaign's calls, and a third node that is UP in the table but does not answer. Asked
//! through either node, `/debug/sessions`, `/debug/actors` and the console's live view show
//! every call and every node's tree, each marked with its node, and name the silent node
//! instead of waiting for it.

use std::collections::HashSet;

use chrono::Duration;
use serde_json::{json, Value};
use voice_runtime::clock::Clock;
use voice_runtime::sandbox::exotel::Outcome;
use voice_runtime::store::{Heartbeat, NodeLoad};

use crate::both_backends;
use crate::console::{page, sign_in, KEY};
use crate::engine_support::{
    campaign_with_leads, engine_app, eventually, restart, simulator, start, EngineApp,
};
use crate::helpers::{error_of, Backend};

both_backends!(every_node_shows_the_whole_clusters_calls_and_trees_each_part_marked);

const LEADS: usize = 6;

async fn every_node_shows_the_whole_clusters_calls_and_trees_each_part_marked(backend: Backend) {
    // Phones ring for a minute: every call stays live while the views are read. Each node
    // carries at most half the calls, so both hold some.
    let node = |id: &'static str| {
        [
            ("NODE_ID", id),
            ("NODE_HEARTBEAT_SECONDS", "1"),
            ("API_KEY", KEY),
            ("MAX_CONCURRENT_CALLS", "3"),
        ]
    };
    let a = engine_app(backend, simulator(60_000, 10), &node("node-a")).await;
    let b = restart(&a, &node("node-b")).await;
    // UP in the table for an hour, at a port nobody listens on.
    let now = a.clock.now();
    a.app
        .fresh_store()
        .await
        .heartbeat(&Heartbeat {
            node_id: "node-silent",
            node_url: "http://127.0.0.1:9",
            started_at: now,
            now,
            lease_until: now + Duration::hours(1),
            load: NodeLoad::default(),
        })
        .await
        .unwrap();

    let settings = json!({"max_concurrent_calls": LEADS, "max_attempts": 1});
    let id = campaign_with_leads(&a, LEADS, settings, |_| vec![Outcome::NoAnswer]).await;
    start(&a, id).await;
    eventually(30, "every lead ringing, on both nodes", || async {
        let (on_a, on_b) = (live_calls(&a), live_calls(&b));
        on_a + on_b == LEADS && on_a > 0 && on_b > 0
    })
    .await;

    for (asked, other) in [(&a, &b), (&b, &a)] {
        let view = asked.app.get_json("/debug/sessions").await;
        assert_eq!(view["count"], LEADS, "{view}");
        let sids: HashSet<_> = view["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["node_id"].as_str().unwrap().to_string(),
                    s["call_sid"].clone(),
                )
            })
            .collect();
        assert_eq!(sids.len(), LEADS, "each call once: {view}");
        for e in [&a, &b] {
            let theirs = sids.iter().filter(|(n, _)| n == node_id_of(e)).count();
            assert_eq!(
                theirs,
                live_calls(e),
                "each node's calls marked as its own: {view}"
            );
        }
        let nodes = parts(&view);
        assert_eq!(nodes["node-a"]["items"], live_calls(&a), "{view}");
        assert_eq!(nodes["node-b"]["items"], live_calls(&b), "{view}");
        assert_eq!(nodes[node_id_of(asked)]["this_node"], true, "{view}");
        assert!(nodes["node-silent"]["items"].is_null(), "{view}");
        assert!(nodes["node-silent"]["error"].is_string(), "{view}");

        let tree = asked.app.get_json("/debug/actors").await;
        let peers: Vec<&Value> = tree["peers"].as_array().unwrap().iter().collect();
        assert_eq!(peers.len(), 2, "{tree}");
        let answered = peers
            .iter()
            .find(|p| p["node_id"] == node_id_of(other))
            .unwrap();
        let campaigns = &answered["supervisor"]["campaigns"];
        assert_eq!(
            campaigns[0]["campaign_id"], id,
            "the other node's campaign actor: {tree}"
        );
        let silent = peers
            .iter()
            .find(|p| p["node_id"] == "node-silent")
            .unwrap();
        assert!(
            silent["supervisor"].is_null() && silent["error"].is_string(),
            "{tree}"
        );
    }

    // A peer asks for one node's part only: no further fan-out, no other node's calls.
    let own = b.app.get_json("/debug/sessions?scope=node").await;
    assert_eq!(own["count"], live_calls(&b), "{own}");
    assert_eq!(own["nodes"].as_array().map(Vec::len), Some(1), "{own}");
    let tree = b.app.get_json("/debug/actors?scope=node").await;
    assert_eq!(tree["peers"], json!([]), "{tree}");
    let unknown = b
        .app
        .get("/debug/sessions?scope=everything")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown, 400).await["field"], "scope");

    // The console's live view, through node B: node A's calls and tree, marked.
    let cookie = sign_in(&b.app).await;
    let (status, html) = page(&b.app, &cookie, "/ui/live").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("{LEADS} in progress")), "{html}");
    assert!(
        html.contains("node node-a"),
        "node A's calls marked: {html}"
    );
    assert!(
        html.contains("data-node=\"node-a\""),
        "node A's tree: {html}"
    );
    assert!(
        html.contains("Node node-silent"),
        "the silent node named: {html}"
    );
}

fn live_calls(e: &EngineApp) -> usize {
    e.app.state.engine.registry.len()
}

fn node_id_of(e: &EngineApp) -> &str {
    &e.app.state.settings.node_id
}

/// `nodes` of a sessions view, by node id.
fn parts(view: &Value) -> serde_json::Map<String, Value> {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["node_id"].as_str().unwrap().to_string(), n.clone()))
        .collect()
}
