//! One live call's session as mirrored to Redis (`session:{call_sid}`): the seed's session
//! fields (shared/specs/data-model.md, "Session state") in their order, then what a reader on
//! another node needs to place it (campaign, node, start, the facts so far).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::call::transcript::Turn;

/// The JSON value of a `session:{call_sid}` key.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSnapshot {
    pub call_sid: String,
    pub lead_id: i64,
    pub lead_name: String,
    /// In full, as in the database: Redis is a store of the same trust as the database, not
    /// a log (secure it as such).
    pub lead_phone: String,
    pub property_type: Option<String>,
    pub location: Option<String>,
    pub budget: Option<String>,
    /// The call's stage as `/debug/sessions` names it: `pickup`, `listening`, `thinking`,
    /// `speaking`, `holding`, `closing`, `voicemail`, `giving_up`, `ended`.
    pub conversation_stage: &'static str,
    /// The turns so far, shaped as `conversations.transcript_history` saves them.
    pub transcript_history: Vec<Turn>,
    pub waiting_for_response: bool,
    /// When the conversation last moved (its stage, transcript or facts changed).
    pub last_interaction_time: DateTime<Utc>,
    pub campaign_id: i64,
    pub scheduled_call_id: i64,
    /// The node carrying the call (`NODE_ID`).
    pub node_id: String,
    pub started_at: DateTime<Utc>,
    /// The facts the playbook's tools recorded so far (`extracted_data` once saved).
    pub facts: Map<String, Value>,
}

impl SessionSnapshot {
    /// `{prefix}session:{call_sid}`.
    pub fn key(prefix: &str, call_sid: &str) -> String {
        format!("{prefix}session:{call_sid}")
    }
}

/// The seed's `waiting_for_response`: the agent has had its say and waits for the caller.
/// Only `listening` is that; while it picks up, thinks, speaks or closes, the agent owes the
/// next words.
pub fn waiting_for_response(stage: &str) -> bool {
    stage == "listening"
}

/// A lead field the call may have learnt better (`property_type`, `location`, `budget`):
/// the fact recorded on this call if there is one, else what the upload said.
pub fn fact_or_lead(
    facts: &Map<String, Value>,
    name: &str,
    lead: &Option<String>,
) -> Option<String> {
    match facts.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Null) | None => lead.clone(),
        Some(Value::String(_)) => lead.clone(),
        Some(other) => Some(other.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::call::transcript::Speaker;
    use serde_json::json;

    pub(crate) fn sample(call_sid: &str, turns: usize) -> SessionSnapshot {
        let at: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().unwrap();
        SessionSnapshot {
            call_sid: call_sid.into(),
            lead_id: 7,
            lead_name: "Asha".into(),
            lead_phone: "+919876543210".into(),
            property_type: Some("2bhk".into()),
            location: None,
            budget: None,
            conversation_stage: "listening",
            transcript_history: (0..turns)
                .map(|i| Turn {
                    speaker: if i % 2 == 0 {
                        Speaker::Agent
                    } else {
                        Speaker::Caller
                    },
                    text: format!("turn {i}"),
                    timestamp: at,
                    interrupted: false,
                    latency: None,
                })
                .collect(),
            waiting_for_response: true,
            last_interaction_time: at,
            campaign_id: 3,
            scheduled_call_id: 11,
            node_id: "node-a".into(),
            started_at: at,
            facts: Map::new(),
        }
    }

    #[test]
    fn the_json_has_the_seeds_fields_in_order_then_ours() {
        let value = serde_json::to_value(sample("CA1", 2)).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "call_sid",
                "lead_id",
                "lead_name",
                "lead_phone",
                "property_type",
                "location",
                "budget",
                "conversation_stage",
                "transcript_history",
                "waiting_for_response",
                "last_interaction_time",
                "campaign_id",
                "scheduled_call_id",
                "node_id",
                "started_at",
                "facts",
            ]
        );
        assert_eq!(value["lead_id"], 7);
        assert_eq!(value["location"], Value::Null);
        assert_eq!(value["waiting_for_response"], true);
        assert_eq!(value["last_interaction_time"], "2026-11-27T10:00:00Z");
        // Turns as the conversation saves them: "ai"/"user", text, timestamp, interrupted.
        assert_eq!(
            value["transcript_history"][1],
            json!({"speaker": "user", "text": "turn 1",
                   "timestamp": "2026-11-27T10:00:00Z", "interrupted": false})
        );
    }

    #[test]
    fn keys_and_derived_fields() {
        assert_eq!(SessionSnapshot::key("", "CA9"), "session:CA9");
        assert_eq!(SessionSnapshot::key("t1:", "CA9"), "t1:session:CA9");
        assert!(waiting_for_response("listening"));
        for stage in ["pickup", "thinking", "speaking", "closing", "ended"] {
            assert!(!waiting_for_response(stage), "{stage}");
        }
        let facts = json!({"budget": "80 lakh", "location": "", "timeline": 3})
            .as_object()
            .cloned()
            .unwrap();
        let lead = Some("from csv".to_string());
        assert_eq!(
            fact_or_lead(&facts, "budget", &lead).as_deref(),
            Some("80 lakh")
        );
        assert_eq!(
            fact_or_lead(&facts, "location", &lead).as_deref(),
            Some("from csv")
        );
        assert_eq!(fact_or_lead(&facts, "property_type", &None), None);
        assert_eq!(
            fact_or_lead(&facts, "timeline", &None).as_deref(),
            Some("3")
        );
    }
}
