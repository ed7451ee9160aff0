//! Several nodes on one database: planning and claiming race-free across nodes, cluster-wide
//! caps, lost nodes settled, and every node working every campaign. Each "node" here is its
//! own connection pool on the same database (on PostgreSQL, truly concurrent transactions).

use std::collections::HashMap;

use chrono::Utc;
use voice_runtime::clock::Clock;
use voice_runtime::store::{ClaimCaps, Heartbeat, NodeLoad, Store};

use crate::both_backends;
use crate::engine_support::{engine_app, eventually, phone, simulator};
use crate::helpers::{spawn_app, Backend, TestApp};

both_backends!(
    three_nodes_planning_one_campaign_plan_each_lead_once,
    claims_from_three_nodes_keep_the_campaign_and_account_caps,
    claims_from_three_nodes_keep_the_per_minute_cap,
    a_node_that_stops_heart_beating_has_its_claims_expired_once,
    a_campaign_started_through_another_node_is_dialed_here,
    a_completed_callback_leaves_a_conversation_to_the_node_carrying_it,
);

async fn campaign_with(app: &TestApp, leads: usize, tag: &str) -> i64 {
    let id = app.campaign_id().await;
    let mut csv = String::from("name,phone\n");
    for i in 0..leads {
        csv.push_str(&format!("Lead {i},+9198{tag}{i:06}\n"));
    }
    let (status, report) = app.upload_csv(id, &csv).await;
    assert_eq!(status, 200, "{report}");
    id
}

async fn nodes(app: &TestApp) -> Vec<Store> {
    vec![
        app.fresh_store().await,
        app.fresh_store().await,
        app.fresh_store().await,
    ]
}

async fn three_nodes_planning_one_campaign_plan_each_lead_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let stores = nodes(&app).await;
    for round in 0..3 {
        let id = campaign_with(&app, 300, &format!("{round:02}")).await;
        let now = Utc::now();
        let planners = stores.iter().map(|store| async move {
            let mut planned = 0;
            for _ in 0..10 {
                planned += store.schedule_new_leads(id, now, 3, now).await.unwrap();
            }
            planned
        });
        let planned: u64 = futures::future::join_all(planners).await.into_iter().sum();
        assert_eq!(planned, 300, "round {round}: each lead planned by one node");
        // NEW leads (none left) plus planned calls: one call per lead, none twice.
        let open = stores[0].open_work(id, now).await.unwrap();
        assert_eq!(open, 300, "round {round}");
    }
}

async fn claims_from_three_nodes_keep_the_campaign_and_account_caps(backend: Backend) {
    let app = spawn_app(backend).await;
    let stores = nodes(&app).await;
    let now = Utc::now();
    let a = campaign_with(&app, 30, "01").await;
    let b = campaign_with(&app, 30, "02").await;
    for id in [a, b] {
        stores[0].schedule_new_leads(id, now, 3, now).await.unwrap();
    }
    let caps = ClaimCaps {
        campaign: 5,
        account: Some(7),
        per_minute: None,
    };
    let lease = now + chrono::Duration::minutes(5);
    let claimers = stores.iter().enumerate().map(|(n, store)| async move {
        let node = format!("node-{n}");
        let mut got = 0;
        for i in 0..10 {
            let id = if (i + n) % 2 == 0 { a } else { b };
            got += store
                .claim_due_calls(id, now, 4, &node, lease, &caps)
                .await
                .unwrap()
                .len();
        }
        got
    });
    let claimed: usize = futures::future::join_all(claimers).await.into_iter().sum();
    assert_eq!(claimed, 7, "the account's cap, reached and held");
    let (live_a, live_b) = (
        stores[0].in_flight_attempts(a).await.unwrap().len(),
        stores[0].in_flight_attempts(b).await.unwrap().len(),
    );
    assert!(
        live_a <= 5 && live_b <= 5,
        "campaign caps: {live_a}, {live_b}"
    );
    assert_eq!(live_a + live_b, 7);
}

async fn claims_from_three_nodes_keep_the_per_minute_cap(backend: Backend) {
    let app = spawn_app(backend).await;
    let stores = nodes(&app).await;
    let now = Utc::now();
    let id = campaign_with(&app, 40, "03").await;
    stores[0].schedule_new_leads(id, now, 3, now).await.unwrap();
    let caps = ClaimCaps {
        campaign: 100,
        account: None,
        per_minute: Some(12),
    };
    let lease = now + chrono::Duration::minutes(5);
    let claimers = stores.iter().enumerate().map(|(n, store)| async move {
        let mut got = 0;
        for _ in 0..5 {
            got += store
                .claim_due_calls(id, now, 3, &format!("node-{n}"), lease, &caps)
                .await
                .unwrap()
                .len();
        }
        got
    });
    let claimed: usize = futures::future::join_all(claimers).await.into_iter().sum();
    assert_eq!(claimed, 12, "twelve dials a minute for the whole cluster");
    let later = now + chrono::Duration::seconds(61);
    let more = stores[0]
        .claim_due_calls(id, later, 5, "node-0", lease, &caps)
        .await
        .unwrap();
    assert_eq!(more.len(), 5, "a minute later the budget is back");
}

async fn a_node_that_stops_heart_beating_has_its_claims_expired_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let stores = nodes(&app).await;
    let now = Utc::now();
    let id = campaign_with(&app, 3, "04").await;
    stores[0].schedule_new_leads(id, now, 3, now).await.unwrap();
    let far = now + chrono::Duration::hours(1);
    let lost_at = now - chrono::Duration::seconds(40);
    stores[0]
        .heartbeat(&Heartbeat {
            node_id: "dead-node",
            node_url: "http://127.0.0.1:9",
            started_at: lost_at,
            now: lost_at,
            lease_until: lost_at + chrono::Duration::seconds(30),
            load: NodeLoad::default(),
        })
        .await
        .unwrap();
    stores[0]
        .heartbeat(&Heartbeat {
            node_id: "live-node",
            node_url: "http://127.0.0.1:9",
            started_at: now,
            now,
            lease_until: now + chrono::Duration::seconds(30),
            load: NodeLoad::default(),
        })
        .await
        .unwrap();
    let claimed = stores[0]
        .claim_due_calls(id, now, 2, "dead-node", far, &ClaimCaps::campaign(10))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    stores[0]
        .claim_due_calls(id, now, 1, "live-node", far, &ClaimCaps::campaign(10))
        .await
        .unwrap();
    // Two nodes notice at once: one of them settles the lost node.
    let (x, y) = tokio::join!(
        stores[1].settle_lost_nodes("node-x", now),
        stores[2].settle_lost_nodes("node-y", now)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(
        [x.clone(), y.clone()].concat(),
        vec!["dead-node".to_string()],
        "{x:?} {y:?}"
    );
    for attempt in stores[0].in_flight_attempts(id).await.unwrap() {
        let lease = attempt.lease_until.unwrap();
        match attempt.claimed_by.as_deref() {
            Some("dead-node") => assert!(lease <= now, "expired now: {lease}"),
            // (PostgreSQL keeps microseconds.)
            _ => assert!(
                (lease - far).num_milliseconds().abs() < 1,
                "a live node's claim is untouched: {lease}"
            ),
        }
    }
    let statuses: HashMap<String, String> = stores[0]
        .nodes()
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.node_id, n.status))
        .collect();
    assert_eq!(statuses["dead-node"], "LOST");
    assert_eq!(statuses["live-node"], "UP");
    // It comes back: its next heartbeat makes it UP again.
    stores[0]
        .heartbeat(&Heartbeat {
            node_id: "dead-node",
            node_url: "http://127.0.0.1:9",
            started_at: now,
            now,
            lease_until: now + chrono::Duration::seconds(30),
            load: NodeLoad::default(),
        })
        .await
        .unwrap();
    let back = stores[0].nodes().await.unwrap();
    assert!(back.iter().all(|n| n.status == "UP"), "{back:?}");
}

/// A campaign another node started (its row says RUNNING; this node's supervisor was never
/// told) is dialed here after the next heartbeat's scan.
async fn a_campaign_started_through_another_node_is_dialed_here(backend: Backend) {
    let e = engine_app(
        backend,
        simulator(5, 10),
        &[("NODE_HEARTBEAT_SECONDS", "1")],
    )
    .await;
    let id = e.app.campaign_id().await;
    let csv = format!("name,phone\nLead 0,{}\n", phone(0));
    let (status, report) = e.app.upload_csv(id, &csv).await;
    assert_eq!(status, 200, "{report}");
    let other_node = e.app.fresh_store().await;
    other_node
        .transition_campaign(
            id,
            voice_runtime::domain::CampaignStatus::Running,
            e.clock.now(),
        )
        .await
        .unwrap();
    eventually(30, "this node dials the campaign", || async {
        !e.sim.dials().is_empty()
    })
    .await;
    let tree = e.app.get_json("/debug/actors").await;
    assert_eq!(tree["node_id"], "test-node", "{tree}");
    assert_eq!(tree["cluster"][0]["node_id"], "test-node", "{tree}");
    assert_eq!(tree["cluster"][0]["status"], "UP", "{tree}");
}

/// Exotel's final callback lands on this node while the call's conversation runs on another
/// (its media socket landed there): the other node's conversation decides the lead's next
/// step, so this node only records the call's details. Once that node is dead, the same
/// callback closes the call as interrupted (retried by the policy), as after a crash here.
async fn a_completed_callback_leaves_a_conversation_to_the_node_carrying_it(backend: Backend) {
    let e = engine_app(backend, simulator(5, 10), &[]).await;
    let id = crate::engine_support::campaign_with_leads(&e, 1, serde_json::json!({}), |_| {
        vec![voice_runtime::sandbox::exotel::Outcome::Hold]
    })
    .await;
    crate::engine_support::start(&e, id).await;
    eventually(10, "the call is answered", || async {
        e.app
            .state
            .engine
            .registry
            .list()
            .first()
            .is_some_and(|c| c.status.as_str() == "IN_PROGRESS")
    })
    .await;
    let sid = e.sim.dials()[0].call_sid.clone();
    let store = e.app.fresh_store().await;
    let now = e.clock.now();
    let other_node = |lease_until| Heartbeat {
        node_id: "node-with-the-media",
        node_url: "http://127.0.0.1:9",
        started_at: now,
        now,
        lease_until,
        load: NodeLoad::default(),
    };
    store
        .heartbeat(&other_node(now + chrono::Duration::hours(1)))
        .await
        .unwrap();
    assert!(store
        .claim_media(&sid, "node-with-the-media", now)
        .await
        .unwrap());
    let scheduled_call_id = store
        .attempt_by_call_sid(&sid)
        .await
        .unwrap()
        .unwrap()
        .scheduled_call_id;

    let completed = serde_json::json!({"CallSid": sid, "Status": "completed", "EventType": "terminal", "ConversationDuration": 42});
    let callback = || async {
        let url = e.app.url("/webhooks/exotel/call-status?token=test-secret");
        let answer: serde_json::Value = e
            .app
            .client
            .post(url)
            .json(&completed)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["result"].clone()
    };
    assert_eq!(
        callback().await,
        "updated",
        "left to the node carrying the call"
    );
    let attempt = store.attempt(scheduled_call_id).await.unwrap().unwrap();
    assert_eq!(attempt.status, "IN_PROGRESS");

    // That node dies (its lease ran out) before it saved the conversation.
    store
        .heartbeat(&other_node(now - chrono::Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(callback().await, "ended");
    let attempt = store.attempt(scheduled_call_id).await.unwrap().unwrap();
    assert_eq!(
        attempt.status, "FAILED",
        "interrupted, so retried by the policy"
    );
}
