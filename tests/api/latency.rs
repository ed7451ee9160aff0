//! Voice-to-voice latency under the realistic profile: the sandbox prints where a turn's
//! time goes, and a caller who breathes mid-sentence stays one turn even though the runtime
//! asks for the final as soon as our VAD hears silence. (Figures are benchmarks, printed by
//! `bench --profile realistic`; nothing here asserts a duration.)

use voice_runtime::sandbox::fakes::ProfileName;
use voice_runtime::sandbox::run::{run, SandboxOptions};

#[actix_rt::test]
async fn the_sandbox_under_the_realistic_profile_breaks_a_turn_down_by_stage() {
    let dir = tempfile::tempdir().unwrap();
    let leads = dir.path().join("leads.csv");
    std::fs::write(
        &leads,
        "name,phone,persona\n\
Asha Interested,9000000021,interested\n\
Prem Pause,9000000022,pause_mid_sentence\n",
    )
    .unwrap();
    let result = run(SandboxOptions {
        leads: Some(leads),
        port: 0,
        quiet: true,
        playbook: "test_short".into(),
        playbooks_dir: Some("tests/fixtures/playbooks".into()),
        profile: ProfileName::Realistic,
        ..Default::default()
    })
    .await
    .expect("the sandbox runs");
    assert_eq!(result.campaign["status"], "COMPLETED");
    let latency = result.latency();
    assert!(latency.voice_to_voice.samples >= 4, "{latency:?}");
    for stage in &latency.stages {
        assert!(stage.samples > 0, "{stage:?}");
    }
    assert!(latency.turns > 0, "{latency:?}");
    let table = latency.render("realistic");
    assert!(table.contains("LLM first token"), "{table}");
    // The breath: one caller turn per sentence, whatever the fast end of turn did meanwhile.
    let pause = result
        .calls
        .iter()
        .find(|c| c["lead_name"] == "Prem Pause")
        .expect("the breathing caller's call");
    let said: Vec<&str> = pause["transcript"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["speaker"] == "user")
        .filter_map(|t| t["text"].as_str())
        .collect();
    assert!(said.contains(&"my budget is 80 lakh"), "{said:?}");
    assert!(!said.contains(&"my budget is"), "{said:?}");
    assert_eq!(pause["final_outcome"], "qualified", "{pause}");
}
