//! The live view: calls in progress (stage, who speaks, turns, last latency, the transcript as
//! it grows) and the campaign side of the actor tree (tokens, queue depth, next due call).
//!
//! The page renders a snapshot; `GET /ui/live/events` then pushes fresh fragments as
//! Server-Sent Events whenever they change. SSE rather than a WebSocket: it is one-way, which
//! is all this needs, goes through proxies as plain HTTP, and the browser reconnects by itself.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use maud::{html, Markup};
use serde_json::Value;

use super::calls::turn_item;
use super::context::Ctx;
use super::layout::{page, respond, when, Nav};
use crate::api::AppState;
use crate::cluster::views::{self, Deadlines, NodeTree, Scope};
use crate::domain::pii::mask;
use crate::store::NodeRow;

/// How often the server looks for changes to push.
const TICK: Duration = Duration::from_millis(500);
/// A stream ends after this long (or when its session does); the browser reconnects through
/// the sign-in gate, so a signed-out or expired session stops being served.
const STREAM_LIFETIME: Duration = Duration::from_secs(600);
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long one call actor, or another node, may take to describe itself before the view goes
/// on without it.
const ASK_TIMEOUT: Duration = Duration::from_millis(300);

pub async fn page_view(ctx: Ctx) -> HttpResponse {
    let (calls, tree) = fragments(&ctx.state).await;
    let body = html! {
        div.row {
            h1 { "Live" }
            span #live-status.muted role="status" { "Live: connecting…" }
        }
        div data-live-src="/ui/live/events" {
            h2 { "Calls in progress" }
            div #live-calls { (calls) }
            h2 { "Actor tree" }
            div #live-tree { (tree) }
        }
        noscript { p.notice { "Without JavaScript this page does not update; reload it to see changes." } }
    };
    respond(page(&ctx, "Live", Nav::Live, body))
}

/// The two fragments, rendered now.
async fn fragments(state: &AppState) -> (Markup, Markup) {
    (calls_fragment(state).await, tree_fragment(state).await)
}

async fn calls_fragment(state: &AppState) -> Markup {
    let deadlines = Deadlines {
        call_actor: ASK_TIMEOUT,
        peer: ASK_TIMEOUT,
    };
    let live = views::sessions(state, Scope::Cluster, deadlines).await;
    let several = live.nodes.len() > 1;
    html! {
        p.muted { (live.count) " in progress" }
        @for part in live.nodes.iter().filter(|p| p.error.is_some()) {
            p.error { "Node " (part.node_id) " did not answer: " (part.error.as_deref().unwrap_or("")) }
        }
        @for s in &live.sessions {
            @let call = &s.call;
            article.card.live-call data-call-sid=(call.call_sid) {
                div.row {
                    strong { (call.lead_name) }
                    span.muted { (mask(&call.phone)) }
                    span.badge { (call.status.as_str()) }
                    a href={"/ui/campaigns/" (call.campaign_id)} { "campaign " (call.campaign_id) }
                    span.muted { "dialed " (when(&call.dialed_at)) }
                    @if several { span.muted.node { "node " (s.node_id) } }
                }
                @if let Some(c) = &s.conversation { (conversation_view(c)) }
            }
        }
    }
}

fn conversation_view(c: &Value) -> Markup {
    let turns = c["transcript"].as_array().cloned().unwrap_or_default();
    html! {
        div.row {
            span { "Stage: " strong.stage { (c["stage"].as_str().unwrap_or("—")) } }
            // The agent is handing the lead to a person (`transfer_to_human`).
            @if c["transferring"].as_bool() == Some(true) {
                span.badge.transferring { "transferring to a person" }
            }
            span { "Speaking: " strong { (c["speaking"].as_str().unwrap_or("nobody")) } }
            span { "Turns: " strong.turns { (c["turn"].as_u64().unwrap_or_default()) } }
            @if let Some(ms) = c["last_latency"]["first_frame_ms"].as_u64() {
                span { "Last answer: " strong { (ms) " ms" } }
            }
        }
        @if !turns.is_empty() {
            ol.transcript { @for turn in &turns { (turn_item(turn)) } }
        }
    }
}

async fn tree_fragment(state: &AppState) -> Markup {
    let mine = views::local_tree(state, ASK_TIMEOUT).await;
    let cluster = views::cluster_nodes(state).await;
    let peers = views::peer_trees(state, &cluster, ASK_TIMEOUT).await;
    html! {
        @if cluster.len() > 1 { (cluster_table(&cluster, &mine.node_id)) }
        (node_tree(&mine))
        @for peer in &peers { (node_tree(peer)) }
    }
}

/// The nodes as their heartbeats describe them.
fn cluster_table(cluster: &[NodeRow], me: &str) -> Markup {
    html! {
        div.table-wrap { table #cluster {
            caption.muted { "Cluster (from each node's heartbeat)" }
            thead { tr {
                th scope="col" { "Node" } th scope="col" { "Status" } th scope="col" { "Live calls" }
                th scope="col" { "Tokens in use" } th scope="col" { "Last heartbeat" }
            } }
            tbody {
                @for n in cluster {
                    tr {
                        td { (n.node_id) @if n.node_id == me { " (this node)" } }
                        td { span class={"badge " (n.status)} { (n.status) } }
                        td { (n.live_calls) }
                        td { (n.tokens_in_use) " / " (n.tokens_capacity) }
                        td { (when(&n.heartbeat_at)) }
                    }
                }
            }
        } }
    }
}

/// One node's campaign supervisor: its tokens and each campaign actor.
fn node_tree(node: &NodeTree) -> Markup {
    let Some(tree) = &node.supervisor else {
        return html! {
            p.error { "Node " (node.node_id) ": " (node.error.as_deref().unwrap_or("not answering")) }
        };
    };
    html! {
        section.node-tree data-node=(node.node_id) {
        p {
            "Node " strong { (tree.node_id) } ": "
            ((tree.node_tokens_capacity as usize).saturating_sub(tree.node_tokens_available))
            " of " (tree.node_tokens_capacity) " call tokens in use · "
            (tree.live_calls) " live calls"
        }
        @if tree.campaigns.is_empty() {
            p.muted { "No campaign is dialing." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Campaign actor" } th scope="col" { "Tokens in use" }
                    th scope="col" { "Queue depth" } th scope="col" { "Next due call" }
                    th scope="col" { "Window" } th scope="col" { "Last error" }
                } }
                tbody {
                    @for c in &tree.campaigns {
                        tr {
                            td { a href={"/ui/campaigns/" (c.campaign_id)} { "#" (c.campaign_id) }
                                @if c.paused { " (paused)" } }
                            td { (c.tokens_in_use) " / " (c.max_concurrent_calls) }
                            td { (c.queue_depth) }
                            td { (c.next_due.as_ref().map_or("—".to_string(), when)) }
                            td { @if c.window_open { "open" } @else { "closed" } }
                            td { (c.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            } }
        }
        }
    }
}

/// One SSE event; every line of the fragment gets its own `data:` (the browser joins them).
/// A bare `\r` also ends an SSE line, so it is turned into a space first (a lead's name may
/// hold one).
fn event(name: &str, fragment: &str) -> Bytes {
    let mut out = format!("event: {name}\n");
    for line in fragment.replace('\r', " ").lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// What the stream remembers between ticks.
struct Pushed {
    state: web::Data<AppState>,
    /// When this stream stops (the session's end or `STREAM_LIFETIME`).
    until: tokio::time::Instant,
    calls: String,
    tree: String,
    quiet: Duration,
}

pub async fn events(ctx: Ctx) -> HttpResponse {
    let session_left = ctx.session.expires - ctx.state.clock.now().timestamp();
    let lifetime = STREAM_LIFETIME.min(Duration::from_secs(session_left.max(0) as u64));
    let start = Pushed {
        until: tokio::time::Instant::now() + lifetime,
        state: ctx.state.clone(),
        calls: String::new(),
        tree: String::new(),
        quiet: Duration::ZERO,
    };
    let stream = futures::stream::unfold(start, |mut pushed| async move {
        loop {
            if tokio::time::Instant::now() >= pushed.until {
                return None;
            }
            let (calls, tree) = fragments(&pushed.state).await;
            let (calls, tree) = (calls.into_string(), tree.into_string());
            let mut out = Vec::new();
            if calls != pushed.calls {
                out.extend_from_slice(&event("calls", &calls));
                pushed.calls = calls;
            }
            if tree != pushed.tree {
                out.extend_from_slice(&event("tree", &tree));
                pushed.tree = tree;
            }
            if out.is_empty() && pushed.quiet >= KEEP_ALIVE {
                out.extend_from_slice(b": keep-alive\n\n");
            }
            if !out.is_empty() {
                pushed.quiet = Duration::ZERO;
                return Some((Ok::<_, actix_web::Error>(Bytes::from(out)), pushed));
            }
            tokio::time::sleep(TICK).await;
            pushed.quiet += TICK;
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        // nginx would otherwise buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}
