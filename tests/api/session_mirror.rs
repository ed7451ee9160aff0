//! The session mirror against a real `redis-server` (`TEST_REDIS_URL`, started by
//! scripts/redis.sh): a live call's `session:{call_sid}` while it talks, gone when it is saved;
//! calls that go on when Redis is unreachable, goes away or comes back. Each test writes under
//! its own key prefix, so tests running at once never read each other's keys.

use std::cell::Cell;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use voice_runtime::session_mirror::MirrorStats;

use crate::both_backends;
use crate::engine_support::eventually;
use crate::helpers::Backend;
use crate::live_support::*;

/// The test Redis (scripts/test.sh starts it); like `TEST_DATABASE_URL`, required.
pub fn test_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").expect(
        "TEST_REDIS_URL is not set: run the tests with scripts/test.sh, or export \
         TEST_REDIS_URL=$(bash scripts/redis.sh) (starts Debian's redis-server on 127.0.0.1:26379)",
    )
}

fn unique_prefix() -> String {
    format!("test-{}:", voice_runtime::config::random_token())
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test Redis at {url}: {e}"))
}

/// One look at a session key during a call.
#[derive(Debug)]
struct Seen {
    key: String,
    value: Value,
    ttl: i64,
}

/// Every session key under `prefix`, with its value and TTL.
async fn sessions(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<Seen> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}session:*"))
        .query_async(conn)
        .await
        .unwrap();
    let mut seen = Vec::new();
    for key in keys {
        let json: Option<String> = redis::cmd("GET").arg(&key).query_async(conn).await.unwrap();
        let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(conn).await.unwrap();
        if let Some(json) = json {
            let value = serde_json::from_str(&json).expect("a session is JSON");
            seen.push(Seen { key, value, ttl });
        }
    }
    seen
}

/// Runs one `interested()` call to its save while looking at Redis every 50 ms; returns the
/// campaign id and everything seen.
async fn call_watching(live: &LiveApp, redis_url: &str, prefix: &str) -> (i64, Vec<Seen>) {
    let mut conn = redis_conn(redis_url).await;
    let done = Cell::new(false);
    let call = async {
        let id = live.call(interested()).await;
        done.set(true);
        id
    };
    let watch = async {
        let mut all = Vec::new();
        while !done.get() {
            all.extend(sessions(&mut conn, prefix).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        all
    };
    futures::join!(call, watch)
}

fn stats(live: &LiveApp) -> MirrorStats {
    live.e
        .app
        .state
        .engine
        .session_mirror
        .stats()
        .expect("REDIS_URL set: the mirror is on")
}

async fn a_live_calls_session_is_mirrored_and_deleted_when_saved(backend: Backend) {
    let redis_url = test_redis_url();
    let prefix = unique_prefix();
    let live = live_app_with(
        backend,
        8000,
        &[
            ("REDIS_URL", &redis_url),
            ("REDIS_KEY_PREFIX", &prefix),
            ("REDIS_SESSION_TTL_SECONDS", "60"),
        ],
    )
    .await;
    let (id, seen) = call_watching(&live, &redis_url, &prefix).await;
    let sid = live.e.sim.dials()[0].call_sid.clone();
    let key = format!("{prefix}session:{sid}");
    assert!(!seen.is_empty(), "the session never showed in Redis");
    assert!(seen.iter().all(|s| s.key == key), "{:?}", seen[0]);
    for s in &seen {
        let v = &s.value;
        assert_eq!(v["call_sid"], sid.as_str());
        assert_eq!(v["lead_name"], "Lead 0");
        assert_eq!(v["lead_phone"], "+919000000000");
        assert!(v["lead_id"].is_i64(), "{v}");
        assert_eq!(v["campaign_id"], id);
        assert_eq!(v["node_id"], "test-node");
        assert!(v["last_interaction_time"].is_string(), "{v}");
        let stage = v["conversation_stage"].as_str().unwrap();
        assert_eq!(v["waiting_for_response"], stage == "listening", "{v}");
        assert!(
            s.ttl > 0 && s.ttl <= 60,
            "TTL {} outside (0, 60] for {v}",
            s.ttl
        );
    }
    let lengths: Vec<usize> = seen
        .iter()
        .map(|s| s.value["transcript_history"].as_array().unwrap().len())
        .collect();
    let (first, most) = (lengths[0], *lengths.iter().max().unwrap());
    assert!(
        most >= 4 && first < most,
        "the transcript grows in Redis: {lengths:?}"
    );
    let turn = &seen.last().unwrap().value["transcript_history"][0];
    assert_eq!(turn["speaker"], "ai", "{turn}");
    assert!(
        turn["text"].as_str().unwrap().starts_with("Hi Lead 0"),
        "{turn}"
    );
    let stages: std::collections::BTreeSet<&str> = seen
        .iter()
        .filter_map(|s| s.value["conversation_stage"].as_str())
        .collect();
    assert!(stages.contains("listening"), "{stages:?}");
    assert!(stages.len() >= 2, "the stage changes: {stages:?}");
    assert!(
        seen.iter().any(|s| s.value["property_type"] == "2bhk"),
        "a fact recorded on the call shows before the end"
    );
    // Saved (call_watching returned after the save): the key goes at the next flush.
    let mut conn = redis_conn(&redis_url).await;
    eventually(10, "the session key is deleted", || {
        let mut conn = conn.clone();
        let prefix = prefix.clone();
        async move { sessions(&mut conn, &prefix).await.is_empty() }
    })
    .await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0);
    let s = stats(&live);
    assert_eq!(s.up, Some(true), "{s:?}");
    assert!(s.written >= 3 && s.failed == 0 && s.dropped == 0, "{s:?}");
    assert!(live.conversation(id).await.is_some());
}

/// A port on which nothing listens (bound, then let go).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn calls_go_on_in_memory_when_redis_is_unreachable(backend: Backend) {
    let _ = test_redis_url();
    let url = format!("redis://:mirror-pw@127.0.0.1:{}", closed_port());
    let live = live_app_with(
        backend,
        8000,
        &[("REDIS_URL", &url), ("REDIS_KEY_PREFIX", &unique_prefix())],
    )
    .await;
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    assert!(c["transcript"].as_array().unwrap().len() >= 4, "{c}");
    let s = stats(&live);
    assert_eq!(s.up, Some(false), "{s:?}");
    assert_eq!(s.written, 0, "{s:?}");
    assert!(s.failed > 0, "the failed writes are counted: {s:?}");
    let metrics = live
        .e
        .app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("voice_session_mirror_writes_total{result=\"failed\"}"),
        "failures are in /metrics"
    );
}

/// A `redis-server` of the test's own on `port`, stopped (killed) when dropped.
struct OwnRedis(Child);

impl OwnRedis {
    async fn start(port: u16) -> OwnRedis {
        // No persistence: nothing is written to its directory.
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/redis.sh installs Debian's package)");
        let url = format!("redis://127.0.0.1:{port}");
        eventually(10, "the test's redis-server answers", || {
            let url = url.clone();
            async move {
                match redis::Client::open(url.as_str()) {
                    Ok(c) => c.get_multiplexed_async_connection().await.is_ok(),
                    Err(_) => false,
                }
            }
        })
        .await;
        OwnRedis(child)
    }

    fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn the_mirror_follows_redis_going_and_coming_back(backend: Backend) {
    let _ = test_redis_url();
    let port = closed_port();
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = unique_prefix();
    let live = live_app_with(
        backend,
        8000,
        &[("REDIS_URL", &url), ("REDIS_KEY_PREFIX", &prefix)],
    )
    .await;
    // Nothing there at start: the node says so (its first PING) and runs on.
    eventually(15, "the mirror finds Redis down", || async {
        stats(&live).up == Some(false)
    })
    .await;

    // Redis comes: the mirror resumes on its own, and the next call is mirrored.
    let redis = OwnRedis::start(port).await;
    eventually(30, "the mirror finds Redis back", || async {
        stats(&live).up == Some(true)
    })
    .await;
    let (first, seen) = call_watching(&live, &url, &prefix).await;
    assert!(
        !seen.is_empty(),
        "the call after Redis came back is mirrored"
    );
    assert!(live.conversation(first).await.is_some());
    let conn = redis_conn(&url).await;
    eventually(10, "its key is deleted", || {
        let mut conn = conn.clone();
        let prefix = prefix.clone();
        async move { sessions(&mut conn, &prefix).await.is_empty() }
    })
    .await;

    // Redis goes away mid-run: the next call is talked to and saved all the same.
    redis.stop();
    let second = live.call(interested()).await;
    let c = live.conversation(second).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    eventually(15, "the mirror notices Redis went away", || async {
        stats(&live).up == Some(false)
    })
    .await;
    let s = stats(&live);
    assert!(s.written > 0 && s.failed > 0, "{s:?}");
}

/// The real binary: an unreachable Redis is one warning naming where it is, never the
/// password its URL carries; the node serves on.
#[test]
fn the_warning_names_redis_without_its_password() {
    use std::io::{BufRead, BufReader};
    let _ = test_redis_url();
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let password = "redis-pw-never-in-logs";
    let url = format!("redis://app:{password}@127.0.0.1:{port}/2");
    let mut child = crate::serve_binary::serve(&dir, &[("REDIS_URL", &url)])
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let warning = loop {
        let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("no session mirror warning: {log:#?}");
        };
        log.push(line.clone());
        if line.contains("session mirror") {
            break line;
        }
    };
    // A little longer: no second warning while Redis stays away (one per change).
    let until = std::time::Instant::now() + Duration::from_secs(3);
    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => log.push(line),
            Err(_) => break,
        }
    }
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    let text = log.join("\n");
    assert!(running, "serve stopped: {text}");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("Redis unavailable"), "{warning}");
    assert!(
        warning.contains(&format!("redis://127.0.0.1:{port}/2")),
        "it names where: {warning}"
    );
    assert!(!text.contains(password), "the password leaked: {text}");
    assert!(!text.contains("app:"), "the user leaked: {text}");
    let warnings = log
        .iter()
        .filter(|l| l.contains("Redis unavailable"))
        .count();
    assert_eq!(warnings, 1, "one warning, not one per flush: {text}");
}

both_backends!(
    a_live_calls_session_is_mirrored_and_deleted_when_saved,
    calls_go_on_in_memory_when_redis_is_unreachable,
    the_mirror_follows_redis_going_and_coming_back,
);
