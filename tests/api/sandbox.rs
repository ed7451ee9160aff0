//! The sandbox end to end, as the README's first command runs it (fewer leads, the short
//! playbook): outcomes per persona, retries, barge-in, back-channels, nothing lost.

use std::collections::HashMap;

use chrono::Timelike;
use serde_json::Value;
use voice_runtime::sandbox::run::{run, SandboxOptions};

const LEADS: &str = "name,phone,persona\n\
Asha Interested,9000000001,interested\n\
Bala Callback,9000000002,callback\n\
Chitra Busy,9000000003,busy\n\
Dev NoAnswer,9000000004,no_answer\n\
Esha Barge,9000000005,barge_in\n\
Farah Hmm,9000000006,backchannel\n\
Gopal NotInterested,9000000007,not_interested\n";

#[actix_rt::test]
async fn a_sandbox_campaign_runs_to_completed_with_every_persona_handled() {
    let dir = tempfile::tempdir().unwrap();
    let leads = dir.path().join("leads.csv");
    std::fs::write(&leads, LEADS).unwrap();
    let result = run(SandboxOptions {
        leads: Some(leads),
        port: 0,
        quiet: true,
        playbook: "test_short".into(),
        playbooks_dir: Some("tests/fixtures/playbooks".into()),
        ..Default::default()
    })
    .await
    .expect("the sandbox runs");
    assert_eq!(result.campaign["status"], "COMPLETED");
    assert_eq!(result.leads.len(), 7);

    let calls_of = |name: &str| -> Vec<Value> {
        result
            .calls
            .iter()
            .filter(|c| c["lead_name"] == name)
            .cloned()
            .collect()
    };
    let last_outcome = |name: &str| {
        calls_of(name)
            .last()
            .map(|c| c["final_outcome"].clone())
            .unwrap_or(Value::Null)
    };
    let lead = |name: &str| {
        result
            .leads
            .iter()
            .find(|l| l["name"] == name)
            .cloned()
            .unwrap()
    };

    // The interested lead is qualified with the right facts.
    let asha = calls_of("Asha Interested").pop().unwrap();
    assert_eq!(asha["final_outcome"], "qualified");
    assert_eq!(asha["extracted_data"]["property_type"], "2bhk");
    assert_eq!(asha["extracted_data"]["location"], "Pune");
    assert_eq!(asha["extracted_data"]["budget"], "80 lakh");
    // The runtime recorded it (the sandbox sets RECORDINGS_DIR).
    let link = format!("/calls/{}/recording", asha["call_id"]);
    assert_eq!(asha["recording"], link.as_str(), "{asha}");

    // The call-back lead was called again at the time it asked for (tomorrow 18:00 IST).
    let bala = calls_of("Bala Callback");
    assert_eq!(bala[0]["final_outcome"], "callback_requested");
    assert_eq!(bala.len(), 2, "{bala:?}");
    let planned: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(bala[1]["scheduled_time"].clone()).unwrap();
    assert_eq!(planned.with_timezone(&chrono_tz::Asia::Kolkata).hour(), 18);

    // Busy and no-answer leads were retried.
    let mut dials: HashMap<String, usize> = HashMap::new();
    for d in &result.dials {
        *dials.entry(d.from.clone()).or_default() += 1;
    }
    assert_eq!(dials["+919000000003"], 2);
    assert_eq!(last_outcome("Chitra Busy"), "qualified");
    assert_eq!(dials["+919000000004"], 3);
    assert_eq!(lead("Dev NoAnswer")["status"], "EXHAUSTED");

    // Barge-in was recorded; the "hmm" lead never interrupted the agent.
    let esha = calls_of("Esha Barge").pop().unwrap();
    assert!(
        esha["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["interrupted"] == true),
        "{esha}"
    );
    let farah = calls_of("Farah Hmm").pop().unwrap();
    assert!(
        farah["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["interrupted"] == false),
        "{farah}"
    );
    let farah_sid = farah["call_sid"].as_str().unwrap();
    assert_eq!(result.phone[farah_sid].clears, 0);
    assert_eq!(last_outcome("Gopal NotInterested"), "not_interested");

    // Nothing lost: every lead reached an end, every answered call has its conversation.
    for l in &result.leads {
        assert!(
            ["COMPLETED", "EXHAUSTED", "FAILED"].contains(&l["status"].as_str().unwrap()),
            "{l}"
        );
    }
    for c in result.calls.iter().filter(|c| c["status"] == "COMPLETED") {
        assert!(c["final_outcome"].is_string(), "{c}");
    }
    let warnings: Vec<&String> = result.phone.values().flat_map(|r| &r.warnings).collect();
    assert!(
        warnings.is_empty(),
        "the simulated Exotel complained: {warnings:?}"
    );
}
