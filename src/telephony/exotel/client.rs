//! The Exotel REST client: place a call (`Calls/connect.json`) and read a call's details.
//!
//! Errors are sorted by what the caller should do: `Permanent` (this number/attempt cannot
//! work: 400/402/403/404), `Auth` (our credentials are wrong: stop dialing and say so), and
//! `Transient` (429, 5xx, timeouts: retry later with backoff). Credentials never reach a log:
//! `Debug` hides them.

use std::time::Duration;

use serde::Deserialize;

use super::{parse_status, CallRef};
use crate::config::{ConnectMode, ExotelSettings};
use crate::domain::{CallDuration, CallStatus, Phone};

/// Why a request failed, by what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExotelError {
    #[error("Exotel refused the call ({status}): {message}")]
    Permanent { status: u16, message: String },
    #[error("Exotel rejected our credentials ({status}): {message}")]
    Auth { status: u16, message: String },
    #[error("Exotel unavailable: {0}")]
    Transient(String),
    #[error("Exotel is not configured: set {0}")]
    NotConfigured(&'static str),
}

impl ExotelError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ExotelError::Transient(_))
    }
}

/// One call to place.
#[derive(Debug, Clone)]
pub struct ConnectCall {
    pub to: Phone,
    pub call_ref: CallRef,
    /// Where Exotel posts status callbacks (carries the webhook secret).
    pub status_callback: String,
    /// Our media socket URL (direct mode only; carries the secret and the call's ids).
    pub stream_url: String,
    pub time_limit_seconds: u32,
}

/// What Exotel tells us about a call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    pub sid: String,
    /// `None` when Exotel used a status word we do not know.
    pub status: Option<CallStatus>,
    pub duration_seconds: Option<CallDuration>,
    pub recording_url: Option<String>,
}

/// A configured Exotel account.
#[derive(Clone)]
pub struct ExotelClient {
    http: reqwest::Client,
    settings: ExotelSettings,
}

impl std::fmt::Debug for ExotelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExotelClient")
            .field("base_url", &self.settings.base_url)
            .field("account_sid", &self.settings.account_sid)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct CallEnvelope {
    #[serde(rename = "Call")]
    call: CallBody,
}

#[derive(Deserialize)]
struct CallBody {
    #[serde(rename = "Sid")]
    sid: String,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "Duration", default)]
    duration: Option<serde_json::Value>,
    #[serde(rename = "RecordingUrl", default)]
    recording_url: Option<String>,
    #[serde(rename = "Details", default)]
    details: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    #[serde(rename = "RestException")]
    rest_exception: RestException,
}

#[derive(Deserialize)]
struct RestException {
    #[serde(rename = "Message", default)]
    message: Option<String>,
}

/// Reads an integer Exotel may send as a number or as a string.
pub(crate) fn loose_int(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl ExotelClient {
    pub fn new(settings: ExotelSettings) -> Result<ExotelClient, ExotelError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ExotelError::Transient(e.to_string()))?;
        Ok(ExotelClient { http, settings })
    }

    /// The variable that is missing for dialing, if any.
    pub fn missing_setting(&self) -> Option<&'static str> {
        let s = &self.settings;
        if s.account_sid.is_none() {
            return Some("EXOTEL_ACCOUNT_SID");
        }
        if s.api_key.is_none() {
            return Some("EXOTEL_API_KEY");
        }
        if s.api_token.is_none() {
            return Some("EXOTEL_API_TOKEN");
        }
        if s.virtual_number.is_none() {
            return Some("EXOTEL_VIRTUAL_NUMBER");
        }
        if s.connect_mode == ConnectMode::Flow && s.exophlo_id.is_none() {
            return Some("EXOTEL_EXOPHLO_ID");
        }
        None
    }

    fn account(&self) -> Result<(&str, &str, &str), ExotelError> {
        if let Some(var) = self.missing_setting() {
            return Err(ExotelError::NotConfigured(var));
        }
        let s = &self.settings;
        Ok((
            s.account_sid.as_deref().unwrap_or_default(),
            s.api_key.as_deref().unwrap_or_default(),
            s.api_token.as_deref().unwrap_or_default(),
        ))
    }

    /// The form fields of `Calls/connect.json` for one call.
    pub fn connect_form(&self, call: &ConnectCall) -> Vec<(&'static str, String)> {
        let s = &self.settings;
        let sid = s.account_sid.clone().unwrap_or_default();
        let mut form = vec![
            ("From", call.to.as_str().to_string()),
            ("CallerId", s.virtual_number.clone().unwrap_or_default()),
            ("CallType", "trans".to_string()),
            ("TimeLimit", call.time_limit_seconds.to_string()),
            ("TimeOut", s.ring_timeout_seconds.to_string()),
            ("StatusCallback", call.status_callback.clone()),
            ("StatusCallbackEvents[0]", "terminal".to_string()),
            ("StatusCallbackEvents[1]", "answered".to_string()),
            ("StatusCallbackContentType", "application/json".to_string()),
            ("CustomField", call.call_ref.encode()),
        ];
        match s.connect_mode {
            ConnectMode::Flow => {
                let flow = s.exophlo_id.clone().unwrap_or_default();
                form.push((
                    "Url",
                    format!("http://my.exotel.com/{sid}/exoml/start_voice/{flow}"),
                ));
            }
            ConnectMode::Direct => {
                form.push(("StreamUrl", call.stream_url.clone()));
                form.push(("StreamType", "bidirectional".to_string()));
            }
        }
        form
    }

    /// Places one call. Returns as soon as Exotel accepts it (200 means accepted, not answered).
    pub async fn connect(&self, call: &ConnectCall) -> Result<CallInfo, ExotelError> {
        let (sid, key, token) = self.account()?;
        let url = format!(
            "{}/v1/Accounts/{sid}/Calls/connect.json",
            self.settings.base_url
        );
        let request = self
            .http
            .post(url)
            .basic_auth(key, Some(token))
            .form(&self.connect_form(call));
        Self::read_call(request).await
    }

    /// The current state of a call (reconciliation after a lost callback or a restart).
    pub async fn call_details(&self, call_sid: &str) -> Result<CallInfo, ExotelError> {
        let (sid, key, token) = self.account()?;
        let url = format!(
            "{}/v1/Accounts/{sid}/Calls/{call_sid}.json?details=true",
            self.settings.base_url
        );
        Self::read_call(self.http.get(url).basic_auth(key, Some(token))).await
    }

    async fn read_call(request: reqwest::RequestBuilder) -> Result<CallInfo, ExotelError> {
        let response = request.send().await.map_err(|e| {
            // reqwest's messages include the URL, which has no secret in it (Basic auth is a header).
            ExotelError::Transient(e.without_url().to_string())
        })?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| ExotelError::Transient(e.to_string()))?;
        if (200..300).contains(&status) {
            let envelope: CallEnvelope = serde_json::from_slice(&body)
                .map_err(|e| ExotelError::Transient(format!("unreadable answer: {e}")))?;
            return Ok(Self::call_info(envelope.call));
        }
        let message = serde_json::from_slice::<ErrorEnvelope>(&body)
            .ok()
            .and_then(|e| e.rest_exception.message)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        Err(match status {
            401 => ExotelError::Auth { status, message },
            429 | 500..=599 => ExotelError::Transient(format!("{status}: {message}")),
            _ => ExotelError::Permanent { status, message },
        })
    }

    fn call_info(call: CallBody) -> CallInfo {
        let conversation = call
            .details
            .as_ref()
            .and_then(|d| d.get("ConversationDuration"))
            .and_then(loose_int);
        CallInfo {
            status: call.status.as_deref().and_then(parse_status),
            duration_seconds: conversation
                .or(call.duration.as_ref().and_then(loose_int))
                .map(CallDuration::clamped),
            recording_url: call.recording_url.filter(|u| !u.is_empty()),
            sid: call.sid,
        }
    }
}
