//! The console end to end in headless Chromium: the real app with the Exotel simulator and the
//! provider fakes, driven as an operator would, from sign-in to the analytics of a finished
//! call. With `SCREENSHOTS_DIR` set it also photographs every page (scripts/screenshots.sh).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use voice_runtime::sandbox::exotel::VoiceSetup;

use crate::both_backends;
use crate::browser_support::Browser;
use crate::helpers::Backend;
use crate::live_support::{interested, live_app_with};

const KEY: &str = "console-test-key-0123456789";
/// A lead whose name is markup: it must show as text everywhere.
const HOSTILE_NAME: &str = "<script>alert(1)</script>";

both_backends!(an_operator_runs_a_campaign_from_the_console);

async fn an_operator_runs_a_campaign_from_the_console(backend: Backend) {
    let recordings = tempfile::tempdir().unwrap();
    let recordings_dir = recordings.path().display().to_string();
    let live = live_app_with(
        backend,
        8000,
        &[
            ("API_KEY", KEY),
            ("RECORDINGS_DIR", recordings_dir.as_str()),
        ],
    )
    .await;
    // The caller thinks for a while before each answer, so the call is live long enough to be
    // watched growing.
    let mut persona = interested();
    persona.think = Duration::from_millis(1200);
    live.e.sim.set_voice(VoiceSetup {
        voicebot_url: live.e.app.url("/exotel/voicebot-url?token=test-secret"),
        personas: HashMap::new(),
        default_persona: persona,
        sample_rate: 8000,
        recordings_dir: None,
        time_limit: Duration::from_secs(90),
        measure: false,
    });
    let base = live.e.app.address.clone();
    let b = Browser::start().await;

    // Sign in: the console sends a stranger to the sign-in page; a wrong key is refused.
    b.goto(&format!("{base}/")).await;
    b.css("#api_key").await;
    b.screenshot("sign-in").await;
    b.fill("#api_key", "not the key").await;
    b.click("button[type=submit]").await;
    assert!(b
        .text("#api_key-error")
        .await
        .contains("not the server's API key"));
    b.fill("#api_key", KEY).await;
    b.click("button[type=submit]").await;
    b.css("a.button[href='/ui/campaigns/new']").await;

    // Create a campaign: first with an hour the API refuses (its message shows by the field).
    b.click("a.button[href='/ui/campaigns/new']").await;
    b.fill("#name", "Console campaign").await;
    b.css("#playbook")
        .await
        .select_by_value("test_short.yaml")
        .await
        .unwrap();
    b.fill("#calling_hours_start", "0").await;
    b.fill("#calling_hours_end", "25").await;
    b.fill("#max_attempts", "1").await;
    b.click("form.stack button[type=submit]").await;
    let refusal = b.text("#calling_hours_end-error").await;
    assert!(
        refusal.contains("calling_hours_end must be in 1..=24"),
        "{refusal}"
    );
    b.screenshot("campaign-form").await;
    b.fill("#calling_hours_end", "24").await;
    b.click("#transactional").await;
    b.click("form.stack button[type=submit]").await;
    b.css("input#file").await;
    let campaign_url = b.client.current_url().await.unwrap().to_string();
    let campaign_id: i64 = campaign_url.rsplit('/').next().unwrap().parse().unwrap();

    // Upload a CSV with one good row and one bad one: the bad row's number and reason show.
    let csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        csv.path(),
        format!("name,phone\n\"{HOSTILE_NAME}\",+919800000001\nBad Row,12345\n"),
    )
    .unwrap();
    b.css("input#file")
        .await
        .send_keys(&csv.path().display().to_string())
        .await
        .unwrap();
    b.click("form[enctype='multipart/form-data'] button[type=submit]")
        .await;
    assert_eq!(b.text("#accepted-count").await, "1");
    assert_eq!(b.text("#rejected-count").await, "1");
    let rejected = b.text("#rejected-rows tbody").await;
    assert!(
        rejected.starts_with('3'),
        "the bad row is row 3: {rejected}"
    );
    assert!(rejected.contains("phone"), "{rejected}");
    b.screenshot("upload-report").await;

    // Start it from its page: only the legal move is offered.
    b.goto(&campaign_url).await;
    assert_eq!(b.count("form[action$='/pause']").await, 0);
    assert_eq!(
        b.text("table tbody td").await,
        HOSTILE_NAME,
        "the name is text"
    );
    b.screenshot("campaign").await;
    b.click("form[action$='/start'] button").await;
    b.css("form[action$='/pause']").await;

    // Live: the call appears and its transcript grows, pushed over SSE (no reload).
    b.goto(&format!("{base}/ui/live")).await;
    b.until(
        60,
        "a call with a transcript in the live view",
        "return document.querySelectorAll('#live-calls .transcript li').length >= 1",
    )
    .await;
    let seen: u64 = b
        .js("return document.querySelectorAll('#live-calls .transcript li').length")
        .await
        .as_u64()
        .unwrap();
    b.screenshot("live").await;
    b.until(
        60,
        "the live transcript to grow",
        &format!("return document.querySelectorAll('#live-calls .transcript li').length > {seen}"),
    )
    .await;
    // Read in one script: the live fragment may be replaced between two WebDriver calls.
    let name = b
        .js("const s = document.querySelector('#live-calls article strong'); return s ? s.textContent : null")
        .await;
    assert!(name.is_null() || name == json!(HOSTILE_NAME), "{name}");
    b.until(
        90,
        "the call to end",
        "return document.querySelectorAll('#live-calls article').length === 0",
    )
    .await;

    // The call's page: transcript, outcome, and the recording, which loads in the page.
    let call_link = wait_for_saved_call(&b, &campaign_url).await;
    b.goto(&format!("{base}{call_link}")).await;
    assert_eq!(b.text("#call-outcome").await, "qualified");
    assert!(b.count("#transcript li").await >= 4);
    let recording = b
        .client
        .execute_async(
            "const done = arguments[0];
             fetch(document.querySelector('audio#recording').src)
               .then(r => done([r.status, r.headers.get('content-type')]))
               .catch(e => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(recording, json!([200, "audio/wav"]));
    b.until(30, "the audio element to load its recording",
        "const a = document.querySelector('audio#recording'); return a.readyState >= 1 && a.duration > 1").await;
    b.screenshot("call").await;

    // Analytics: the outcome counts.
    b.goto(&format!("{base}/ui/campaigns/{campaign_id}/analytics"))
        .await;
    assert!(b.text("#outcomes").await.contains("qualified"));
    assert_eq!(b.text("#total-calls").await, "1");
    b.css("svg#outcomes-chart").await;
    b.screenshot("analytics").await;

    // Nothing was fetched from another origin, no script ran from lead data, and the page
    // fits a phone's width.
    let foreign = b
        .js(&format!(
            "return performance.getEntriesByType('resource').map(e => e.name)
                .filter(n => !n.startsWith('{base}'))"
        ))
        .await;
    assert_eq!(foreign, json!([]), "requests to other origins");
    b.goto(&campaign_url).await;
    assert_eq!(b.js("return document.scripts.length").await, json!(1));
    b.client.set_window_size(390, 844).await.unwrap();
    b.goto(&format!("{base}/ui/live")).await;
    b.css("#live-tree").await;
    b.screenshot("live-phone").await;
    b.goto(&campaign_url).await;
    assert_eq!(
        b.js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            .await,
        json!(true),
        "the campaign page fits 390 px"
    );
    b.screenshot("campaign-phone").await;
    b.client.set_window_size(1280, 900).await.unwrap();

    // The suppression list, for the screenshots and a last look.
    b.goto(&format!("{base}/ui/suppressions")).await;
    b.fill("#phone", "+919800000099").await;
    b.fill("#reason", "asked on the phone").await;
    b.click("form[action='/ui/suppressions'] button").await;
    assert!(b.text("#suppressions").await.contains("+919800000099"));
    b.screenshot("suppressions").await;

    // Signing out ends the session.
    b.click("form.sign-out button").await;
    b.css("#api_key").await;
    b.goto(&format!("{base}/ui/campaigns")).await;
    b.css("#api_key").await;
    b.close().await;
}

/// The link to the campaign's first call once its outcome is saved (reloading the page).
async fn wait_for_saved_call(b: &Browser, campaign_url: &str) -> String {
    for _ in 0..120 {
        b.goto(campaign_url).await;
        let saved = b
            .js("const row = document.querySelector('#calls + p + .table-wrap tbody tr');
                 return row && row.cells[3].textContent !== '—' ? row.cells[0].querySelector('a').getAttribute('href') : null")
            .await;
        if let Some(link) = saved.as_str() {
            return link.to_string();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the call's outcome was never saved");
}
