//! The status callback Exotel posts us, read from JSON, urlencoded or multipart form alike.

use std::collections::HashMap;

use super::client::loose_int;
use super::{parse_status, CallRef};
use crate::domain::{CallDuration, CallStatus};

/// The fields of a status callback as Exotel sends them (JSON, urlencoded or multipart form
/// alike): what the OpenAPI document shows. `build` reads these names; a test holds the two
/// together.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct StatusCallbackFields {
    /// Exotel's id of the call.
    pub call_sid: String,
    /// Exotel's status word: `queued`, `ringing`, `in-progress`, `completed`, `busy`,
    /// `no-answer`, `failed`, `canceled`. Another word is logged and answered `ignored`.
    pub status: String,
    /// Exotel's event type (`terminal` for the final callback); logged, not acted on.
    pub event_type: Option<String>,
    /// Seconds the call was connected.
    pub conversation_duration: Option<i64>,
    pub recording_url: Option<String>,
    /// The ids we sent with the dial (`c=…;l=…;s=…;a=…`).
    pub custom_field: Option<String>,
}

/// The fields we use from a status callback; everything else is ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCallback {
    pub call_sid: String,
    /// `None` for a status word we do not know (logged, answered 200).
    pub status: Option<CallStatus>,
    pub raw_status: String,
    pub event_type: Option<String>,
    pub duration_seconds: Option<CallDuration>,
    pub recording_url: Option<String>,
    pub call_ref: Option<CallRef>,
}

impl StatusCallback {
    /// From a JSON object. Errors name the missing field.
    pub fn from_json(body: &serde_json::Value) -> Result<StatusCallback, String> {
        let text = |key: &str| -> Option<String> {
            match body.get(key)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let duration = body
            .get("ConversationDuration")
            .and_then(loose_int)
            .map(CallDuration::clamped);
        Self::build(text, duration)
    }

    /// From form fields (urlencoded or multipart).
    pub fn from_fields(fields: &HashMap<String, String>) -> Result<StatusCallback, String> {
        let text = |key: &str| fields.get(key).cloned();
        let duration = fields
            .get("ConversationDuration")
            .and_then(|d| d.trim().parse().ok())
            .map(CallDuration::clamped);
        Self::build(text, duration)
    }

    fn build(
        text: impl Fn(&str) -> Option<String>,
        duration_seconds: Option<CallDuration>,
    ) -> Result<StatusCallback, String> {
        let call_sid = text("CallSid")
            .filter(|s| !s.trim().is_empty())
            .ok_or("CallSid")?;
        let raw_status = text("Status").ok_or("Status")?;
        Ok(StatusCallback {
            call_sid: call_sid.trim().to_string(),
            status: parse_status(&raw_status),
            raw_status,
            event_type: text("EventType"),
            duration_seconds,
            recording_url: text("RecordingUrl").filter(|u| !u.trim().is_empty()),
            call_ref: text("CustomField").as_deref().and_then(CallRef::decode),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_as_exotel_documents_it() {
        let body = serde_json::json!({"CallSid":"80bf","EventType":"terminal","Status":"completed",
            "ConversationDuration":320,"CustomField":"c=1;l=2;s=3;a=1","RecordingUrl":"https://r.mp3",
            "Legs":[{"OnCallDuration":335,"Status":"completed"}]});
        let cb = StatusCallback::from_json(&body).unwrap();
        assert_eq!(cb.status, Some(CallStatus::Completed));
        assert_eq!(cb.duration_seconds, Some(CallDuration::clamped(320)));
        assert_eq!(cb.call_ref.unwrap().scheduled_call_id, 3);
        assert_eq!(cb.recording_url.as_deref(), Some("https://r.mp3"));
    }

    /// The documented field names are the ones the parser reads.
    #[test]
    fn documented_fields_are_read() {
        let documented = StatusCallbackFields {
            call_sid: "80bf".into(),
            status: "completed".into(),
            event_type: Some("terminal".into()),
            conversation_duration: Some(42),
            recording_url: Some("https://r.mp3".into()),
            custom_field: Some("c=1;l=2;s=3;a=1".into()),
        };
        let cb = StatusCallback::from_json(&serde_json::to_value(&documented).unwrap()).unwrap();
        assert_eq!(cb.call_sid, "80bf");
        assert_eq!(cb.status, Some(CallStatus::Completed));
        assert_eq!(cb.event_type.as_deref(), Some("terminal"));
        assert_eq!(cb.duration_seconds, Some(CallDuration::clamped(42)));
        assert_eq!(cb.recording_url.as_deref(), Some("https://r.mp3"));
        assert_eq!(cb.call_ref.unwrap().scheduled_call_id, 3);
    }

    #[test]
    fn form_fields_and_missing_ones() {
        let mut fields = HashMap::new();
        fields.insert("CallSid".to_string(), "abc".to_string());
        fields.insert("Status".to_string(), "no-answer".to_string());
        fields.insert("RecordingUrl".to_string(), String::new());
        fields.insert("ConversationDuration".to_string(), "0".to_string());
        let cb = StatusCallback::from_fields(&fields).unwrap();
        assert_eq!(cb.status, Some(CallStatus::NoAnswer));
        assert_eq!(cb.recording_url, None);
        fields.remove("CallSid");
        assert_eq!(StatusCallback::from_fields(&fields).unwrap_err(), "CallSid");
    }
}
