//! The simulator's HTTP side: Exotel's REST endpoints, and the status callbacks it sends.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::Utc;
use serde_json::json;

use super::call_list;
use super::callback_faults::{CallbackFate, CallbackFaults};
use super::calls::{CallBook, DialRecord};
use super::dial_faults::{DialFaults, DialReply};
use super::handoff_flow::{HandoffFlow, HandoffReport};
use super::media_client::{run_call, write_wav, CallReport, MediaCall};
use super::scenario::{Outcome, Scenario};
use crate::clock::{Clock, SystemClock};
use crate::domain::CallStatus;
use crate::sandbox::persona::Persona;
use crate::telephony::exotel::status::exotel_word;

/// How the simulated account behaves.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub account_sid: String,
    pub api_key: String,
    pub api_token: String,
    /// Exotel's published limit; `None` lifts it (benchmarks).
    pub calls_per_minute: Option<usize>,
    pub scenario: Scenario,
    /// Status callbacks that fail are retried this many times (Exotel: twice).
    pub callback_retries: u32,
    /// When set, answered calls open our media socket and a persona talks.
    pub voice: Option<VoiceSetup>,
    /// Status callbacks dropped, duplicated or reordered (the chaos run); none by default.
    pub callback_faults: CallbackFaults,
}

/// How answered calls reach the voice bot and who talks on them.
#[derive(Debug, Clone)]
pub struct VoiceSetup {
    /// The flow's dynamic URL endpoint (`…/exotel/voicebot-url?token=…`), used when a dial
    /// carries a flow `Url`; a dial with a `StreamUrl` (direct mode) connects there instead.
    pub voicebot_url: String,
    /// Personas per number (E.164), one per answered dial (the last repeats); other numbers
    /// get `default_persona`.
    pub personas: HashMap<String, Vec<Persona>>,
    pub default_persona: Persona,
    pub sample_rate: u32,
    /// Where WAV recordings go (both directions); `None` records nothing.
    pub recordings_dir: Option<std::path::PathBuf>,
    pub time_limit: Duration,
    /// Measure audio health at the phone (the load benchmark).
    pub measure: bool,
}

impl SimulatorConfig {
    pub fn new(account_sid: &str, api_key: &str, api_token: &str) -> Self {
        SimulatorConfig {
            account_sid: account_sid.into(),
            api_key: api_key.into(),
            api_token: api_token.into(),
            calls_per_minute: Some(200),
            scenario: Scenario {
                per_number: HashMap::new(),
                default: Outcome::Answer,
                ring_time: Duration::from_secs(3),
                talk_time: Duration::from_secs(20),
            },
            callback_retries: 2,
            voice: None,
            callback_faults: CallbackFaults::default(),
        }
    }
}

struct Shared {
    config: Mutex<SimulatorConfig>,
    book: CallBook,
    /// Forced HTTP statuses for the next connect requests (429, 500 … on demand).
    faults: Mutex<VecDeque<u16>>,
    /// Acceptance times within the last minute, for the rate limit.
    recent: Mutex<VecDeque<std::time::Instant>>,
    /// What each answered call's phone saw, by call sid.
    reports: Mutex<HashMap<String, CallReport>>,
    /// When set, status callbacks are not sent (a lost webhook, for reconciliation tests).
    mute_callbacks: std::sync::atomic::AtomicBool,
    /// Unkind answers to connect requests (scripted per number, or random).
    dial_faults: Mutex<DialFaults>,
    /// Every connect request that named a number, whatever its answer.
    requests: Mutex<Vec<ConnectRequest>>,
    /// When set, the Bulk Call Details list answers 503.
    call_list_down: std::sync::atomic::AtomicBool,
    /// Exotel's clock (`DateCreated`, the call list's filter): the runtime's own when a test or
    /// the sandbox moves time, so both sides agree on when a call was made.
    clock: Mutex<Arc<dyn Clock>>,
    http: reqwest::Client,
    /// The flow's hand-off applets, played after the bot's part of a flow call when set.
    handoff: Mutex<Option<HandoffFlow>>,
    /// What the flow did after the bot, by call sid.
    handoffs: Mutex<HashMap<String, HandoffReport>>,
}

/// One `Calls/connect.json` request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub from: String,
    pub at: chrono::DateTime<Utc>,
    pub reply: DialReply,
    /// The call it placed, if any (a phone rang).
    pub placed: Option<String>,
}

impl Shared {
    fn now(&self) -> chrono::DateTime<Utc> {
        lock(&self.clock).now()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running simulator.
#[derive(Clone)]
pub struct ExotelSimulator {
    pub base_url: String,
    shared: Arc<Shared>,
    server: ServerHandle,
}

impl ExotelSimulator {
    /// Starts on a free loopback port, inside the running actix System.
    pub fn start(config: SimulatorConfig) -> std::io::Result<ExotelSimulator> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            book: CallBook::default(),
            faults: Mutex::new(VecDeque::new()),
            recent: Mutex::new(VecDeque::new()),
            reports: Mutex::new(HashMap::new()),
            mute_callbacks: std::sync::atomic::AtomicBool::new(false),
            dial_faults: Mutex::new(DialFaults::default()),
            requests: Mutex::new(Vec::new()),
            call_list_down: std::sync::atomic::AtomicBool::new(false),
            clock: Mutex::new(Arc::new(SystemClock)),
            handoff: Mutex::new(None),
            handoffs: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .map_err(std::io::Error::other)?,
        });
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/v1/Accounts/{sid}/Calls/connect.json",
                    web::post().to(connect),
                )
                .route("/v1/Accounts/{sid}/Calls", web::get().to(calls))
                .route("/v1/Accounts/{sid}/Calls/{call}", web::get().to(details))
        })
        .workers(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(ExotelSimulator {
            base_url: format!("http://127.0.0.1:{port}"),
            shared,
            server: handle,
        })
    }

    /// Answered calls open our media socket and a persona talks (set once our URL is known).
    pub fn set_voice(&self, voice: VoiceSetup) {
        lock(&self.shared.config).voice = Some(voice);
    }

    /// Flow calls play the Passthru → Connect → result applets after the bot's part.
    pub fn set_handoff(&self, flow: HandoffFlow) {
        *lock(&self.shared.handoff) = Some(flow);
    }

    /// What the flow did after the bot's part of a call (none: the flow had no hand-off).
    pub fn handoff_report(&self, call_sid: &str) -> Option<HandoffReport> {
        lock(&self.shared.handoffs).get(call_sid).cloned()
    }

    /// The n-th dial of `number` (E.164) takes the n-th outcome; the last one repeats.
    pub fn script(&self, number: &str, outcomes: Vec<Outcome>) {
        lock(&self.shared.config)
            .scenario
            .per_number
            .insert(number.to_string(), outcomes);
    }

    /// The next connect requests answer with these HTTP statuses instead of placing a call.
    pub fn inject_failures(&self, statuses: &[u16]) {
        lock(&self.shared.faults).extend(statuses);
    }

    /// Reads time from `clock` (the runtime's, when a test or the sandbox moves it).
    pub fn use_clock(&self, clock: Arc<dyn Clock>) {
        *lock(&self.shared.clock) = clock;
    }

    /// The n-th connect request for `number` (E.164) gets the n-th reply; the last repeats.
    pub fn script_replies(&self, number: &str, replies: Vec<DialReply>) {
        lock(&self.shared.dial_faults).script(number, replies);
    }

    /// A random unkind reply for `rate` of the unscripted connect requests, drawn from `seed`;
    /// a stalled answer is held for `stall`.
    pub fn random_replies(&self, rate: f64, seed: u64, stall: Duration) {
        let mut faults = lock(&self.shared.dial_faults);
        faults.random(rate, seed);
        faults.stall = stall;
    }

    /// How long a `DialReply::Stall` holds its answer.
    pub fn stall_for(&self, stall: Duration) {
        lock(&self.shared.dial_faults).stall = stall;
    }

    /// Every connect request that named a number, in order.
    pub fn requests(&self) -> Vec<ConnectRequest> {
        lock(&self.shared.requests).clone()
    }

    /// While set, Exotel's call list (Bulk Call Details) answers 503.
    pub fn call_list_down(&self, down: bool) {
        self.shared
            .call_list_down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn mute_callbacks(&self, muted: bool) {
        self.shared
            .mute_callbacks
            .store(muted, std::sync::atomic::Ordering::SeqCst);
    }

    /// Ends every held call (`Outcome::Hold`) as completed, and lets later ones through.
    pub fn release_held(&self) {
        self.shared.book.release_held();
    }

    pub fn dials(&self) -> Vec<DialRecord> {
        self.shared.book.dials()
    }

    /// Resolves when the next dial is accepted, before its HTTP answer is written.
    pub async fn dial_accepted(&self) {
        self.shared.book.accepted.notified().await;
    }

    /// The phone's view of an answered call (voice mode).
    pub fn report(&self, call_sid: &str) -> Option<CallReport> {
        lock(&self.shared.reports).get(call_sid).cloned()
    }

    pub fn reports(&self) -> HashMap<String, CallReport> {
        lock(&self.shared.reports).clone()
    }

    pub fn live_calls(&self) -> usize {
        self.shared.book.live()
    }

    /// The most calls that were ever live at once.
    pub fn max_concurrent(&self) -> usize {
        self.shared.book.max_live()
    }

    /// The most calls of each campaign (by the `c=` of their `CustomField`) live at once.
    pub fn max_concurrent_per_campaign(&self) -> std::collections::HashMap<String, usize> {
        self.shared.book.max_live_by_campaign()
    }

    pub async fn stop(&self) {
        self.server.stop(false).await;
    }
}

fn rest_exception(status: u16, message: &str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(code).json(json!({
        "RestException": {"Status": status, "Message": message, "Code": status * 100}
    }))
}

fn authorised(req: &HttpRequest, config: &SimulatorConfig) -> bool {
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", config.api_key, config.api_token));
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v.trim() == expected)
}

async fn connect(
    shared: web::Data<Arc<Shared>>,
    path: web::Path<String>,
    req: HttpRequest,
    form: web::Bytes,
) -> HttpResponse {
    let config = lock(&shared.config).clone();
    if path.into_inner() != config.account_sid || !authorised(&req, &config) {
        return rest_exception(401, "Authentication failed");
    }
    if let Some(status) = lock(&shared.faults).pop_front() {
        return rest_exception(status, "Injected failure");
    }
    if !within_rate(&shared, config.calls_per_minute) {
        return rest_exception(429, "Too many requests: 200 calls per minute");
    }
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&form).unwrap_or_default();
    let from = fields.get("From").cloned().unwrap_or_default();
    if from.is_empty() || !fields.contains_key("CallerId") {
        return rest_exception(400, "From and CallerId are mandatory");
    }
    if !fields.contains_key("Url") && !fields.contains_key("StreamUrl") {
        return rest_exception(400, "Url or StreamUrl is mandatory");
    }
    let (reply, stall) = {
        let mut faults = lock(&shared.dial_faults);
        (faults.next(&from), faults.stall)
    };
    let placed = if reply.places_call() {
        place(&shared, &config, &from, fields)
    } else {
        None
    };
    lock(&shared.requests).push(ConnectRequest {
        from: from.clone(),
        at: shared.now(),
        reply,
        placed: placed.clone(),
    });
    let Some(sid) = placed else {
        return match reply {
            DialReply::TooManyRequests => rest_exception(429, "Too many requests (injected)"),
            DialReply::BadGatewayNotPlaced => bad_gateway(),
            _ => rest_exception(400, "Invalid From number"),
        };
    };
    match reply {
        DialReply::Normal => {
            HttpResponse::Ok().json(call_json(&sid, &from, CallStatus::Initiated, None))
        }
        DialReply::CutBody => {
            let whole = call_json(&sid, &from, CallStatus::Initiated, None).to_string();
            let cut: String = whole.chars().take(whole.len() / 3).collect();
            HttpResponse::Ok()
                .content_type("application/json")
                .body(cut)
        }
        DialReply::Stall => {
            tokio::time::sleep(stall).await;
            HttpResponse::Ok().json(call_json(&sid, &from, CallStatus::Initiated, None))
        }
        _ => bad_gateway(),
    }
}

/// A proxy's 502: HTML, no `RestException`.
fn bad_gateway() -> HttpResponse {
    HttpResponse::BadGateway()
        .content_type("text/html")
        .body("<html><body><h1>502 Bad Gateway</h1></body></html>")
}

/// Places a call (the phone rings) and starts its life; `None` when the number's script
/// refuses it (`Outcome::Reject`).
fn place(
    shared: &web::Data<Arc<Shared>>,
    config: &SimulatorConfig,
    from: &str,
    fields: HashMap<String, String>,
) -> Option<String> {
    let dial_index = lock(&shared.book.dials_per_number)
        .get(from)
        .copied()
        .unwrap_or(0);
    let outcome = config.scenario.outcome(from, dial_index);
    if outcome == Outcome::Reject {
        return None;
    }
    let sid = crate::config::random_token();
    shared.book.accept(DialRecord {
        call_sid: sid.clone(),
        from: from.to_string(),
        custom_field: fields.get("CustomField").cloned().unwrap_or_default(),
        at: shared.now(),
    });
    let life = CallLife {
        shared: shared.get_ref().clone(),
        sid: sid.clone(),
        outcome,
        scenario: config.scenario.clone(),
        retries: config.callback_retries,
        voice: config.voice.clone(),
        fields,
        callback_faults: config.callback_faults.clone(),
        dial_index,
        held_back: Mutex::new(Vec::new()),
    };
    tokio::spawn(life.run());
    Some(sid)
}

/// Exotel's Bulk Call Details (see `call_list.rs`).
async fn calls(
    shared: web::Data<Arc<Shared>>,
    path: web::Path<String>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let config = lock(&shared.config).clone();
    if path.into_inner() != config.account_sid || !authorised(&req, &config) {
        return rest_exception(401, "Authentication failed");
    }
    if shared
        .call_list_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return rest_exception(503, "Service unavailable (injected)");
    }
    let numbers: Vec<&str> = query
        .get("From")
        .map(|f| f.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let range = match call_list::created_range(query.get("DateCreated").map_or("", String::as_str))
    {
        Ok(range) => range,
        Err(message) => return rest_exception(400, &message),
    };
    HttpResponse::Ok().json(call_list::list(&shared.book, &numbers, range))
}

fn within_rate(shared: &Shared, per_minute: Option<usize>) -> bool {
    let Some(limit) = per_minute else {
        return true;
    };
    let now = std::time::Instant::now();
    let mut recent = lock(&shared.recent);
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
    {
        recent.pop_front();
    }
    if recent.len() >= limit {
        return false;
    }
    recent.push_back(now);
    true
}

fn call_json(
    sid: &str,
    from: &str,
    status: CallStatus,
    duration: Option<i64>,
) -> serde_json::Value {
    let now = Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    json!({"Call": {
        "Sid": sid, "ParentCallSid": null, "DateCreated": now, "DateUpdated": now,
        "From": from, "Status": exotel_word(status), "Duration": duration,
        "Direction": "outbound-api", "RecordingUrl": null,
        "Details": {"ConversationDuration": duration.unwrap_or(0)}
    }})
}

async fn details(
    shared: web::Data<Arc<Shared>>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> HttpResponse {
    let (account, call) = path.into_inner();
    let config = lock(&shared.config).clone();
    if account != config.account_sid || !authorised(&req, &config) {
        return rest_exception(401, "Authentication failed");
    }
    let sid = call.trim_end_matches(".json");
    match shared.book.call(sid) {
        Some(c) => HttpResponse::Ok().json(call_json(sid, &c.from, c.status, c.duration_seconds)),
        None => rest_exception(404, "Call not found"),
    }
}

/// One simulated call from acceptance to its terminal callback.
struct CallLife {
    shared: Arc<Shared>,
    sid: String,
    outcome: Outcome,
    scenario: Scenario,
    retries: u32,
    voice: Option<VoiceSetup>,
    fields: HashMap<String, String>,
    callback_faults: CallbackFaults,
    /// Which dial of this number the call is (names its callbacks for the fault draw).
    dial_index: usize,
    /// Callbacks held back to arrive after the next one (reordered).
    held_back: Mutex<Vec<serde_json::Value>>,
}

impl CallLife {
    /// An answered call with a voice: connect to the bot and let the persona talk until
    /// someone hangs up. Returns the call's length in seconds and its recording.
    async fn converse(&self, voice: &VoiceSetup) -> (Option<i64>, Option<String>) {
        let custom = self.fields.get("CustomField").cloned().unwrap_or_default();
        let url = match self.fields.get("StreamUrl") {
            Some(url) => Some(url.clone()),
            None => self.ask_voicebot_url(voice, &custom).await,
        };
        let Some(url) = url else {
            tracing::warn!(target: "exotel_simulator", call_sid = %self.sid, "no voicebot URL; the call ends");
            return (None, None);
        };
        let from = self.fields.get("From").cloned().unwrap_or_default();
        let answered_before = lock(&self.shared.reports)
            .keys()
            .filter(|sid| self.shared.book.call(sid).is_some_and(|c| c.from == from))
            .count();
        let persona = voice
            .personas
            .get(&from)
            .and_then(|list| {
                list.get(answered_before.min(list.len().saturating_sub(1)))
                    .cloned()
            })
            .unwrap_or_else(|| voice.default_persona.clone());
        let call = MediaCall {
            url,
            call_sid: self.sid.clone(),
            stream_sid: format!("stream-{}", self.sid),
            sample_rate: voice.sample_rate,
            custom_parameters: json!({}),
            persona,
            time_limit: voice.time_limit,
            measure: voice.measure,
            record: voice.recordings_dir.is_some(),
        };
        match run_call(call).await {
            Ok(report) => {
                let seconds = report.duration.as_secs().max(1) as i64;
                let recording = voice.recordings_dir.as_ref().and_then(|dir| {
                    let path = dir.join(format!("{}.wav", self.sid));
                    write_wav(
                        &path,
                        voice.sample_rate,
                        &report.caller_audio,
                        &report.agent_audio,
                    )
                    .ok()?;
                    Some(format!("file://{}", path.display()))
                });
                let mut slim = report;
                slim.caller_audio = Vec::new();
                slim.agent_audio = Vec::new();
                lock(&self.shared.reports).insert(self.sid.clone(), slim);
                (Some(seconds), recording)
            }
            Err(e) => {
                tracing::warn!(target: "exotel_simulator", call_sid = %self.sid, error = %e, "media stream failed");
                (None, None)
            }
        }
    }

    /// The flow's Voicebot applet asking our dynamic URL endpoint where to stream.
    async fn ask_voicebot_url(&self, voice: &VoiceSetup, custom: &str) -> Option<String> {
        let from = self.fields.get("From").cloned().unwrap_or_default();
        let response = self
            .shared
            .http
            .get(&voice.voicebot_url)
            .query(&[
                ("CallSid", self.sid.as_str()),
                ("From", from.as_str()),
                ("CustomField", custom),
            ])
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = response.json().await.ok()?;
        body["url"].as_str().map(String::from)
    }

    async fn run(self) {
        self.shared
            .book
            .set_status(&self.sid, CallStatus::Ringing, None);
        let ring = match self.outcome {
            Outcome::NoAnswer => self.scenario.ring_time * 2,
            _ => self.scenario.ring_time,
        };
        tokio::time::sleep(ring).await;
        let end = match self.outcome {
            Outcome::Answer | Outcome::Hold => {
                self.shared
                    .book
                    .set_status(&self.sid, CallStatus::InProgress, None);
                self.callback(CallStatus::InProgress, "answered", None)
                    .await;
                if self.outcome == Outcome::Hold {
                    self.shared.book.held().await;
                } else if let Some(voice) = &self.voice {
                    let (seconds, recording) = self.converse(voice).await;
                    let human = self.after_the_bot().await;
                    self.shared
                        .book
                        .set_status(&self.sid, CallStatus::Completed, seconds);
                    self.callback_with(
                        CallStatus::Completed,
                        "terminal",
                        seconds,
                        recording,
                        human,
                    )
                    .await;
                    return;
                } else {
                    tokio::time::sleep(self.scenario.talk_time).await;
                }
                CallStatus::Completed
            }
            Outcome::Busy => CallStatus::Busy,
            Outcome::NoAnswer => CallStatus::NoAnswer,
            Outcome::Failed | Outcome::Reject => CallStatus::Failed,
        };
        let duration =
            (end == CallStatus::Completed).then(|| self.scenario.talk_time.as_secs().max(1) as i64);
        self.shared.book.set_status(&self.sid, end, duration);
        self.callback(end, "terminal", duration).await;
    }

    /// Posts a status callback as Exotel does: JSON when asked for, form otherwise, retried
    /// on failure.
    async fn callback(&self, status: CallStatus, event: &str, duration: Option<i64>) {
        self.callback_with(status, event, duration, None, None)
            .await;
    }

    /// A flow call (no `StreamUrl`) with hand-off applets: plays them once the bot is done;
    /// returns the Connect's leg (status, seconds) when a human was dialed.
    async fn after_the_bot(&self) -> Option<(&'static str, i64)> {
        if self.fields.contains_key("StreamUrl") {
            return None; // direct mode: closing the stream ended the call
        }
        let flow = lock(&self.shared.handoff).clone()?;
        let report = super::handoff_flow::play(&self.shared.http, &flow, &self.sid).await;
        let leg = report.human_answered.map(|answered| {
            let status = if answered { "completed" } else { "no-answer" };
            (status, report.human_seconds)
        });
        lock(&self.shared.handoffs).insert(self.sid.clone(), report);
        leg
    }

    async fn callback_with(
        &self,
        status: CallStatus,
        event: &str,
        duration: Option<i64>,
        recording: Option<String>,
        human_leg: Option<(&'static str, i64)>,
    ) {
        if self
            .shared
            .mute_callbacks
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let Some(url) = self.fields.get("StatusCallback") else {
            return;
        };
        let body = json!({
            "CallSid": self.sid, "EventType": event, "Status": exotel_word(status),
            "DateUpdated": Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            "From": self.fields.get("From"), "To": self.fields.get("CallerId"),
            "Direction": "outbound-api", "ConversationDuration": duration.unwrap_or(0),
            "CustomField": self.fields.get("CustomField"), "RecordingUrl": recording,
            "Legs": [{"OnCallDuration": duration.unwrap_or(0), "Status": exotel_word(status)}],
        });
        let mut body = body;
        if let (Some((leg_status, seconds)), Some(legs)) = (human_leg, body["Legs"].as_array_mut())
        {
            // The Connect's leg to the human, after the customer's.
            legs.push(json!({"OnCallDuration": seconds, "Status": leg_status}));
        }
        let from = self.fields.get("From").map(String::as_str).unwrap_or("");
        let fate = self
            .callback_faults
            .fate(from, self.dial_index, event, status.is_terminal());
        match fate {
            // What was held back behind a dropped callback still goes (below).
            CallbackFate::Drop => {}
            CallbackFate::Reorder => {
                lock(&self.held_back).push(body);
                return;
            }
            CallbackFate::Deliver => self.post(url, &body).await,
            CallbackFate::Duplicate => {
                self.post(url, &body).await;
                self.post(url, &body).await;
            }
        }
        let held: Vec<serde_json::Value> = std::mem::take(&mut *lock(&self.held_back));
        for body in held {
            self.post(url, &body).await;
        }
    }

    /// One delivery of a callback, retried on failure as Exotel does.
    async fn post(&self, url: &str, body: &serde_json::Value) {
        let json_wanted = self
            .fields
            .get("StatusCallbackContentType")
            .is_some_and(|t| t.contains("json"));
        for attempt in 0..=self.retries {
            let request = self.shared.http.post(url);
            let request = if json_wanted {
                request.json(body)
            } else {
                request.form(&form_fields(body))
            };
            match request.send().await {
                Ok(r) if r.status().is_success() => return,
                _ if attempt < self.retries => tokio::time::sleep(Duration::from_millis(300)).await,
                _ => tracing::warn!(call_sid = %self.sid, "status callback undelivered"),
            }
        }
    }
}

/// The callback's scalar fields as Exotel's default form encoding sends them.
fn form_fields(body: &serde_json::Value) -> Vec<(String, String)> {
    body.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k.clone(), s.clone())),
            serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
            serde_json::Value::Null => Some((k.clone(), String::new())),
            _ => None,
        })
        .collect()
}
