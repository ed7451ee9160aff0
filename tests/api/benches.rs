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
