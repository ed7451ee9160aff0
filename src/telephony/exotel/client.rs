//! The Exotel REST client: place a call (`Calls/connect.json`) and read a call's details.
//!
//! Errors are sorted by what the caller should do, and for a dial by whether a phone may be
//! ringing: `Permanent` (this number/attempt cannot work: a 4xx `RestException`), `Auth` (our
//! credentials are wrong: stop dialing and say so), `Transient` (nothing was placed: the
//! connection failed before the request was written, or 429 — safe to retry with backoff) and
//! `MaybePlaced` (the request reached Exotel and we did not see a usable answer: a timeout or a
//! reset after it was written, a 5xx, a 2xx without a readable `Call.Sid` — a call may be
//! ringing, so it must be settled, never sent again on a guess). Credentials never reach a log:
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
    #[error("Exotel may have placed the call: {0}")]
    MaybePlaced(String),
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
pub(super) struct CallBody {
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
            .timeout(Duration::from_secs(u64::from(
                settings.request_timeout_seconds,
            )))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ExotelError::Transient(e.to_string()))?;
        Ok(ExotelClient { http, settings })
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn base_url(&self) -> &str {
        &self.settings.base_url
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

    pub(super) fn account(&self) -> Result<(&str, &str, &str), ExotelError> {
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
    /// Every failure says whether a call may have been placed (see the module's comment).
    pub async fn connect(&self, call: &ConnectCall) -> Result<CallInfo, ExotelError> {
        let (sid, key, token) = self.account()?;
        let url = format!(
            "{}/v1/Accounts/{sid}/Calls/connect.json",
            self.settings.base_url
        );
        let sent = self
            .http
            .post(url)
            .basic_auth(key, Some(token))
            .form(&self.connect_form(call))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // Refused, DNS, TLS, or the connect timeout: the request never left us.
            Err(e) if e.is_connect() => {
                return Err(ExotelError::Transient(e.without_url().to_string()))
            }
            // A timeout or a reset once the connection was up: Exotel may have read it.
            Err(e) => return Err(ExotelError::MaybePlaced(e.without_url().to_string())),
        };
        let status = response.status().as_u16();
        let body = response.bytes().await;
        classify_dial(status, body.as_deref().map_err(|e| e.to_string()))
    }

    /// The current state of a call (reconciliation after a lost callback or a restart).
    pub async fn call_details(&self, call_sid: &str) -> Result<CallInfo, ExotelError> {
        let (sid, key, token) = self.account()?;
        let url = format!(
            "{}/v1/Accounts/{sid}/Calls/{call_sid}.json?details=true",
            self.settings.base_url
        );
        let response = self
            .http
            .get(url)
            .basic_auth(key, Some(token))
            .send()
            .await
            // reqwest's messages include the URL, which has no secret in it (Basic auth is a header).
            .map_err(|e| ExotelError::Transient(e.without_url().to_string()))?;
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
        Err(match error_of(status, &body) {
            // A lookup places nothing: whatever went wrong, asking again later is safe.
            ExotelError::MaybePlaced(reason) => ExotelError::Transient(reason),
            other => other,
        })
    }

    pub(super) fn call_info(call: CallBody) -> CallInfo {
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

/// What a dial's HTTP answer means. `body` is `Err` when the answer could not be read whole
/// (the connection dropped mid-body).
fn classify_dial(status: u16, body: Result<&[u8], String>) -> Result<CallInfo, ExotelError> {
    let body = match body {
        Ok(body) => body,
        Err(e) if (200..300).contains(&status) || status >= 500 => {
            return Err(ExotelError::MaybePlaced(format!(
                "{status} with an unreadable body: {e}"
            )))
        }
        // A 4xx was decided before any call was made, whatever happened to its body.
        Err(_) => &[],
    };
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<CallEnvelope>(body) {
            Ok(envelope) if !envelope.call.sid.trim().is_empty() => {
                Ok(ExotelClient::call_info(envelope.call))
            }
            Ok(_) => Err(ExotelError::MaybePlaced(format!(
                "{status} without a Call.Sid"
            ))),
            Err(e) => Err(ExotelError::MaybePlaced(format!(
                "{status} with an unreadable answer: {e}"
            ))),
        };
    }
    Err(error_of(status, body))
}

/// An error answer (not 2xx) by what it means for a dial.
///
/// Exotel's messages usually name the dialed number, and they end up in log lines and failure
/// reasons: the numbers in them are masked here, where they enter (`LOG_PII=true` keeps them).
pub(super) fn error_of(status: u16, body: &[u8]) -> ExotelError {
    let raw = serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.rest_exception.message)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let message = crate::domain::pii::mask_numbers_in(&raw);
    match status {
        401 => ExotelError::Auth { status, message },
        // Exotel's rate limit refuses the request before doing anything with it.
        429 => ExotelError::Transient(format!("{status}: {message}")),
        // A 5xx may come from a proxy after Exotel placed the call, or from Exotel half-way.
        500..=599 => ExotelError::MaybePlaced(format!("{status}: {message}")),
        _ => ExotelError::Permanent { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: Result<CallInfo, ExotelError>) -> &'static str {
        match r {
            Ok(_) => "placed",
            Err(ExotelError::Transient(_)) => "not placed, retry",
            Err(ExotelError::Permanent { .. }) => "refused",
            Err(ExotelError::Auth { .. }) => "credentials",
            Err(ExotelError::MaybePlaced(_)) => "maybe placed",
            Err(ExotelError::NotConfigured(_)) => "not configured",
        }
    }

    #[test]
    fn every_dial_answer_is_placed_not_placed_or_in_doubt() {
        let ok = br#"{"Call":{"Sid":"abc123","Status":"queued"}}"#.as_slice();
        type Case<'a> = (u16, Result<&'a [u8], String>, &'a str);
        let cases: &[Case] = &[
            (200, Ok(ok), "placed"),
            (202, Ok(ok), "placed"),
            (200, Ok(br#"{"Call":{"Sid":"abc1"#), "maybe placed"),
            (200, Ok(b""), "maybe placed"),
            (200, Ok(br#"{"Call":{"Sid":"  "}}"#), "maybe placed"),
            (200, Ok(b"<html>gateway</html>"), "maybe placed"),
            (200, Err("connection reset".into()), "maybe placed"),
            (500, Ok(b""), "maybe placed"),
            (502, Ok(b"<html>Bad Gateway</html>"), "maybe placed"),
            (503, Err("reset".into()), "maybe placed"),
            (
                429,
                Ok(br#"{"RestException":{"Status":429,"Message":"slow down"}}"#),
                "not placed, retry",
            ),
            (
                400,
                Ok(br#"{"RestException":{"Status":400,"Message":"bad From"}}"#),
                "refused",
            ),
            (403, Ok(b""), "refused"),
            (404, Err("reset".into()), "refused"),
            (
                401,
                Ok(br#"{"RestException":{"Status":401,"Message":"auth"}}"#),
                "credentials",
            ),
        ];
        for (status, body, expected) in cases {
            let got = kind(classify_dial(*status, body.clone()));
            assert_eq!(got, *expected, "{status} {body:?}");
        }
    }
}

#[cfg(test)]
mod masking_tests {
    use super::*;

    /// Exotel names the dialed number in its refusals; that text is logged by the dialer.
    #[test]
    fn numbers_in_exotel_error_messages_are_masked() {
        let body = br#"{"RestException":{"Status":400,"Message":"Call to +919876543210 failed: 09876543210 is on DND"}}"#;
        match error_of(400, body) {
            ExotelError::Permanent { status, message } => {
                assert_eq!(status, 400);
                assert_eq!(
                    message,
                    "Call to +91******3210 failed: *******3210 is on DND"
                );
            }
            other => panic!("{other:?}"),
        }
        let raw = b"<html>no route to 919876543210</html>";
        match error_of(502, raw) {
            ExotelError::MaybePlaced(message) => {
                assert!(!message.contains("9876543210"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
