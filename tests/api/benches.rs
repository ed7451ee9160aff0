//! The benchmark commands still run (their figures are printed, never asserted here): a
//! change elsewhere — a new check on /start, say — must not silently break them.

#[actix_rt::test]
async fn bench_commands_run_on_small_inputs() {
    voice_runtime::bench::import::run(500, None)
        .await
        .expect("bench-import runs");
    voice_runtime::bench::scheduler::run(60, 10, None)
        .await
        .expect("bench-scheduler runs");
}

/// `bench-cluster`'s machinery at a tiny size: two real `serve` nodes on a fresh PostgreSQL
/// database share one campaign, every lead dialed once, CPU read for the nodes and the database.
/// PostgreSQL only: the cluster's database.
#[actix_rt::test]
async fn bench_cluster_runs_two_nodes_on_postgres() {
    use voice_runtime::bench::cluster::{self, ClusterOptions};
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        panic!("TEST_DATABASE_URL is needed (scripts/test.sh starts PostgreSQL)");
    };
    let options = ClusterOptions {
        nodes: vec![2],
        leads: 20,
        runs: 1,
        // Four calls a node, a second's ring: node 1 alone would need five seconds, so the
        // second node (taking the campaign up at its first heartbeat) gets a share.
        calls_per_node: 4,
        ring: std::time::Duration::from_millis(1000),
        admin_url,
        server_exe: Some(env!("CARGO_BIN_EXE_voice-runtime").into()),
    };
    let runs = cluster::run(&options).await.expect("bench-cluster runs");
    let [run] = runs.as_slice() else {
        panic!("one run expected: {runs:?}");
    };
    assert_eq!(run.dials, 20, "{run:?}");
    assert_eq!(run.dialed_twice, 0, "{run:?}");
    assert!(run.peak_live <= 8, "two nodes of four calls: {run:?}");
    assert_eq!(run.dials_by_node.len(), 2, "both nodes dialed: {run:?}");
    assert!(run.nodes_cpu > 0.0, "{run:?}");
    assert!(run.database_cpu.is_some(), "a local server's CPU: {run:?}");
}
