//! The flow after the Voicebot applet, as Exotel plays it for a hand-off (connect-to-flow
//! mode): once our socket closes, a Sync Passthru asks our URL (200 → Connect, 302 → Hangup);
//! the Connect asks our dynamic URL whom to dial (JSON with `Exotel-Version`, or text), rings
//! a simulated human who answers or not, then an Async Passthru in the Connect's exit tells our
//! result URL what happened (`CallType`, `DialCallStatus`, `DialCallDuration`).

use std::collections::HashMap;
use std::time::Duration;

/// The flow's hand-off applets and the simulated sales team.
#[derive(Debug, Clone)]
pub struct HandoffFlow {
    /// Our Passthru URL (`…/exotel/passthru?token=…`).
    pub passthru_url: String,
    /// Our Connect dynamic URL (`…/exotel/transfer-destination?token=…`).
    pub destination_url: String,
    /// Our result URL, asked from the Connect's exits; none = the flow has no result Passthru.
    pub result_url: Option<String>,
    /// Programmable Connect (JSON, `Exotel-Version: 1.0`) rather than the text "Dial whom".
    pub json: bool,
    /// Whether the human at a number answers; numbers not listed answer.
    pub answers: HashMap<String, bool>,
    /// How long the human's phone rings before they answer (or the Connect gives up).
    pub ring: Duration,
    /// How long an answering human talks to the lead.
    pub talk: Duration,
}

impl HandoffFlow {
    pub fn new(passthru_url: String, destination_url: String, result_url: Option<String>) -> Self {
        HandoffFlow {
            passthru_url,
            destination_url,
            result_url,
            json: true,
            answers: HashMap::new(),
            ring: Duration::from_millis(300),
            talk: Duration::from_millis(500),
        }
    }
}

/// What the flow did after the bot's part of one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoffReport {
    /// The Passthru's HTTP status (200 transfer, 302 hang up; anything else halts the flow).
    pub passthru_status: u16,
    /// Whether the Passthru's answer carried a `Location` header (it must not).
    pub passthru_location: bool,
    /// The number the Connect dialed, if our URL named one.
    pub destination: Option<String>,
    /// Whether the human answered (none: nobody was dialed).
    pub human_answered: Option<bool>,
    /// Seconds the human talked.
    pub human_seconds: i64,
}

/// Plays the Passthru → Connect → result part of the flow for call `sid`.
pub async fn play(http: &reqwest::Client, flow: &HandoffFlow, sid: &str) -> HandoffReport {
    let mut report = HandoffReport::default();
    let Ok(passthru) = http
        .get(&flow.passthru_url)
        .query(&[
            ("CallSid", sid),
            ("Direction", "outbound-dial"),
            ("Stream[DisconnectedBy]", "bot"),
        ])
        .send()
        .await
    else {
        return report;
    };
    report.passthru_status = passthru.status().as_u16();
    report.passthru_location = passthru.headers().contains_key("location");
    if report.passthru_status != 200 {
        return report;
    }
    report.destination = ask_destination(http, flow, sid).await;
    let Some(number) = report.destination.clone() else {
        // Nothing to dial: the Connect takes its "nobody answered" exit.
        tell_result(http, flow, sid, None, 0).await;
        return report;
    };
    let answers = flow.answers.get(&number).copied().unwrap_or(true);
    tokio::time::sleep(flow.ring).await;
    if answers {
        tokio::time::sleep(flow.talk).await;
        report.human_seconds = flow.talk.as_secs().max(1) as i64;
    }
    report.human_answered = Some(answers);
    tell_result(http, flow, sid, Some(&number), report.human_seconds).await;
    report
}

/// The Connect asking our dynamic URL: JSON `destination.numbers[0]`, or the text's first.
async fn ask_destination(http: &reqwest::Client, flow: &HandoffFlow, sid: &str) -> Option<String> {
    let mut request = http
        .get(&flow.destination_url)
        .query(&[("CallSid", sid), ("CallStatus", "in-progress")]);
    if flow.json {
        request = request.header("Exotel-Version", "1.0");
    }
    let response = request.send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    if flow.json {
        let body: serde_json::Value = response.json().await.ok()?;
        body["destination"]["numbers"][0].as_str().map(String::from)
    } else {
        let text = response.text().await.ok()?;
        text.split(',')
            .map(str::trim)
            .find(|n| !n.is_empty())
            .map(String::from)
    }
}

/// The Async Passthru in the Connect's exit.
async fn tell_result(
    http: &reqwest::Client,
    flow: &HandoffFlow,
    sid: &str,
    dialed: Option<&str>,
    talked_seconds: i64,
) {
    let Some(url) = &flow.result_url else {
        return;
    };
    let (call_type, dial_status) = match (dialed, talked_seconds > 0) {
        (Some(_), true) => ("completed", "completed"),
        (Some(_), false) => ("incomplete", "no-answer"),
        (None, _) => ("incomplete", "failed"),
    };
    let duration = talked_seconds.to_string();
    let _ = http
        .get(url)
        .query(&[
            ("CallSid", sid),
            ("CallType", call_type),
            ("DialCallStatus", dial_status),
            ("DialCallDuration", duration.as_str()),
            ("DialWhomNumber", dialed.unwrap_or("")),
        ])
        .send()
        .await;
}
