//! Shutdown and crashes lose no conversation: the real binary, signalled and killed.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::Backend;
use crate::live_support::interested;
use crate::process_support::*;

/// Dials paced 20 s apart, two calls at once: while the first call is live, the second lead's
/// dial is waiting for its pacing slot when the signal comes.
const PACED: [(&str, &str); 1] = [("EXOTEL_CALLS_PER_MINUTE", "3")];

fn last_ai_line(conversation: &Value) -> String {
    conversation["transcript"]
        .as_array()
        .and_then(|t| t.iter().rev().find(|x| x["speaker"] == "ai"))
        .and_then(|x| x["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn sigterm_lets_the_live_call_finish_and_dials_no_one(backend: Backend) {
    let w = world(backend).await;
    let mut server = w.serve(&PACED).await;
    w.talk_with(&server, interested());
    let id = w
        .campaign(&server, 3, json!({"max_concurrent_calls": 2}))
        .await;
    w.until_live(&server).await;
    let dials_at_signal = w.sim.dials().len();
    server.signal("TERM");
    let status = server.exit_status(150).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(w.sim.dials().len(), dials_at_signal, "a dial after SIGTERM");
    // The call finished by itself (qualified) and was saved before the process exited.
    let saved = w.saved_conversations(id).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0]["final_outcome"], "qualified", "{}", saved[0]);
    assert!(
        last_ai_line(&saved[0]).to_lowercase().contains("bye"),
        "{}",
        saved[0]
    );
}

async fn the_grace_period_ends_a_call_with_the_time_up_line(backend: Backend) {
    let w = world(backend).await;
    let grace = [
        ("EXOTEL_CALLS_PER_MINUTE", "3"),
        ("SHUTDOWN_GRACE_SECONDS", "30"),
    ];
    let mut server = w.serve(&grace).await;
    let id = w
        .campaign(&server, 3, json!({"max_concurrent_calls": 2}))
        .await;
    w.until_live(&server).await;
    let dials_at_signal = w.sim.dials().len();
    assert_eq!(dials_at_signal, 1, "the second dial waits for its slot");
    server.signal("TERM");
    let status = server.exit_status(150).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    // The second lead's pacing slot came during the grace period: its dial gave its claim back.
    assert_eq!(w.sim.dials().len(), dials_at_signal, "a dial after SIGTERM");
    let sid = w.sim.dials()[0].call_sid.clone();
    crate::engine_support::eventually(20, "the phone's report", || async {
        w.sim.report(&sid).is_some()
    })
    .await;
    let heard = w.sim.report(&sid).expect("the phone reported the call");
    assert!(
        heard
            .agent_turns
            .last()
            .is_some_and(|t| t.to_lowercase().contains("time is up")),
        "{:?}",
        heard.agent_turns
    );
    let saved = w.saved_conversations(id).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(last_ai_line(&saved[0]), "Time is up, bye!", "{}", saved[0]);
    // The answered lead is done, the released ones wait for the next dial: none IN_PROGRESS.
    let statuses = w.lead_statuses(id).await;
    assert_eq!(
        statuses,
        ["COMPLETED", "SCHEDULED", "SCHEDULED"],
        "{statuses:?}"
    );
}

async fn a_call_cut_by_kill_9_is_closed_as_interrupted_at_the_next_start(backend: Backend) {
    let w = world(backend).await;
    let mut server = w.serve(&[]).await;
    let id = w.campaign(&server, 1, json!({"max_attempts": 3})).await;
    w.until_live(&server).await;
    server.kill();
    let server = w.serve(&[]).await;
    let saved = w.conversations(&server, id).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0]["final_outcome"], "interrupted", "{}", saved[0]);
    // Not left IN_PROGRESS, not COMPLETED: the retry policy calls again after its delay.
    let leads = w.get(&server, &format!("/campaigns/{id}/leads")).await;
    let lead = &leads["items"][0];
    assert_eq!(lead["status"], "SCHEDULED", "{lead}");
    assert_eq!(lead["call_attempts"], 1, "{lead}");
    assert_eq!(w.sim.dials().len(), 1, "redialed at once");
}

async fn with_the_last_attempt_used_an_interrupted_lead_is_exhausted(backend: Backend) {
    let w = world(backend).await;
    let mut server = w.serve(&[]).await;
    let id = w.campaign(&server, 1, json!({"max_attempts": 1})).await;
    w.until_live(&server).await;
    server.kill();
    let server = w.serve(&[]).await;
    let saved = w.conversations(&server, id).await;
    assert_eq!(saved[0]["final_outcome"], "interrupted", "{}", saved[0]);
    let leads = w.get(&server, &format!("/campaigns/{id}/leads")).await;
    assert_eq!(leads["items"][0]["status"], "EXHAUSTED", "{leads}");
}

both_backends!(
    sigterm_lets_the_live_call_finish_and_dials_no_one,
    the_grace_period_ends_a_call_with_the_time_up_line,
    a_call_cut_by_kill_9_is_closed_as_interrupted_at_the_next_start,
    with_the_last_attempt_used_an_interrupted_lead_is_exhausted,
);
