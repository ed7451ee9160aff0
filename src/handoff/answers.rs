//! What our Exotel-facing hand-off endpoints answer, in the forms Exotel reads (sources in
//! the README's "Hand-off to a human"):
//! - Passthru: the branch is the HTTP status alone — 200 = the transfer branch (Connect),
//!   302 = the other (Hangup). We never answer anything else, and send no `Location`, so a
//!   client that follows redirects cannot turn the 302 into another answer.
//! - Connect with a URL: JSON ("Programmable Connect") when the request carries an
//!   `Exotel-Version` header, else the "Dial whom" plain-text list of numbers.

use actix_web::http::StatusCode;
use serde_json::json;

/// The Passthru's answer: 200 when a transfer is recorded for the call, 302 for every other
/// call (none recorded, an unknown `CallSid`).
pub fn passthru_status(transfer_recorded: bool) -> StatusCode {
    if transfer_recorded {
        StatusCode::OK
    } else {
        StatusCode::FOUND
    }
}

/// Which of the Connect applet's URL modes asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFormat {
    /// Programmable Connect (`Exotel-Version` header): JSON.
    Json,
    /// "Dial whom" URL: a comma-separated list of numbers as text.
    Text,
}

impl ConnectFormat {
    /// JSON when the request names a version of the Connect parameters.
    pub fn of_request(exotel_version: Option<&str>) -> ConnectFormat {
        match exotel_version {
            Some(v) if !v.trim().is_empty() => ConnectFormat::Json,
            _ => ConnectFormat::Text,
        }
    }
}

/// The Connect endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAnswer {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

/// Exotel's ring timeout is at most a minute (TRAI).
const MAX_RINGING_SECONDS: u32 = 60;

impl ConnectAnswer {
    /// One destination (E.164), or none: "nothing to dial" is an empty `numbers` in JSON
    /// and a 404 in text, so the Connect takes its no-answer exit (to Hangup).
    pub fn new(format: ConnectFormat, destination: Option<&str>, ring_seconds: u32) -> Self {
        let ring = ring_seconds.clamp(1, MAX_RINGING_SECONDS);
        match (format, destination) {
            (ConnectFormat::Json, Some(number)) => ConnectAnswer {
                status: StatusCode::OK,
                content_type: "application/json",
                body: json!({
                    "fetch_after_attempt": false,
                    "destination": {"numbers": [number]},
                    "max_ringing_duration": ring,
                })
                .to_string(),
            },
            (ConnectFormat::Json, None) => ConnectAnswer {
                status: StatusCode::OK,
                content_type: "application/json",
                body: json!({"fetch_after_attempt": false, "destination": {"numbers": []}})
                    .to_string(),
            },
            (ConnectFormat::Text, Some(number)) => ConnectAnswer {
                status: StatusCode::OK,
                content_type: "text/plain",
                body: number.to_string(),
            },
            (ConnectFormat::Text, None) => ConnectAnswer {
                status: StatusCode::NOT_FOUND,
                content_type: "text/plain",
                body: String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthru_is_200_or_302_only() {
        assert_eq!(passthru_status(true), StatusCode::OK);
        assert_eq!(passthru_status(false), StatusCode::FOUND);
    }

    #[test]
    fn connect_answers_in_the_format_asked() {
        let n = "+919812345678";
        let cases = [
            (
                Some("1.0"),
                Some(n),
                200,
                "application/json",
                r#"{"destination":{"numbers":["+919812345678"]},"fetch_after_attempt":false,"max_ringing_duration":30}"#,
            ),
            (
                Some("1.0"),
                None,
                200,
                "application/json",
                r#"{"destination":{"numbers":[]},"fetch_after_attempt":false}"#,
            ),
            (None, Some(n), 200, "text/plain", "+919812345678"),
            (Some(" "), Some(n), 200, "text/plain", "+919812345678"),
            (None, None, 404, "text/plain", ""),
        ];
        for (version, dest, status, content_type, body) in cases {
            let a = ConnectAnswer::new(ConnectFormat::of_request(version), dest, 30);
            assert_eq!(a.status.as_u16(), status, "{version:?} {dest:?}");
            assert_eq!(a.content_type, content_type, "{version:?} {dest:?}");
            if content_type == "application/json" {
                let got: serde_json::Value = serde_json::from_str(&a.body).unwrap();
                let want: serde_json::Value = serde_json::from_str(body).unwrap();
                assert_eq!(got, want);
            } else {
                assert_eq!(a.body, body);
            }
        }
        let long = ConnectAnswer::new(ConnectFormat::Json, Some(n), 500);
        assert!(
            long.body.contains("\"max_ringing_duration\":60"),
            "{}",
            long.body
        );
    }
}
