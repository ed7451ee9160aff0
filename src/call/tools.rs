//! The tools the LLM may call during a conversation, built from the playbook (the facts it asks
//! for become `record_lead_details`' parameters), and their typed reading.

use serde_json::{json, Map, Value};

use crate::conversation::playbook::Playbook;

/// Added to every system prompt: a tool call with nothing said costs the caller a second LLM
/// round trip (~0.5 s) before they hear anything, so the model speaks in the same response.
/// The runtime plays the words while it applies the tools; it asks again only when the model
/// said nothing.
pub const SPEAK_WITH_TOOLS: &str = "When you call a tool, say your next sentence in the same \
response (text and tool calls together); never answer with a tool call alone.";

/// Outcomes `end_call` accepts.
pub const OUTCOMES: [&str; 6] = [
    "qualified",
    "not_interested",
    "callback_requested",
    "wrong_number",
    "no_response",
    "do_not_call",
];

/// What a tool call asks the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolAction {
    RecordDetails(Map<String, Value>),
    EndCall {
        outcome: String,
    },
    /// A local time as the LLM wrote it (ISO 8601, no zone = the campaign's zone).
    ScheduleCallback {
        when: String,
    },
    DoNotCall,
    /// Hand the lead to a person (`transfer_to_human`).
    TransferToHuman,
    /// A tool we do not know or arguments we cannot read; the LLM is told so.
    Invalid(String),
}

/// The `transfer_to_human` tool, offered only while a hand-off is possible (`handoff::offer`).
pub fn transfer_definition(when: Option<&str>) -> Value {
    let when = when.unwrap_or("a qualified lead should talk to the sales team");
    json!({"type": "function", "function": {
        "name": "transfer_to_human",
        "description": format!(
            "Hand the lead to a person from our team: when the lead asks to speak to a person, \
             or when {when}. Say nothing else: the runtime says the hand-off line and connects \
             the call."
        ),
        "parameters": {"type": "object", "properties": {
            "reason": {"type": "string", "description": "Why, in a few words"}
        }}
    }})
}

/// The `tools` array of the chat request; `transfer` adds `transfer_to_human`.
pub fn definitions(playbook: &Playbook, transfer: Option<Value>) -> Value {
    let mut properties = Map::new();
    for fact in &playbook.facts {
        let kind = if fact.kind == "number" {
            "number"
        } else {
            "string"
        };
        let need = if fact.required {
            "required"
        } else {
            "optional"
        };
        properties.insert(
            fact.name.clone(),
            json!({"type": kind, "description": format!("{} ({need})", fact.question)}),
        );
    }
    let mut tools = json!([
        {"type": "function", "function": {
            "name": "record_lead_details",
            "description": "Record facts about the lead as soon as they are said. Only include facts you heard.",
            "parameters": {"type": "object", "properties": properties}
        }},
        {"type": "function", "function": {
            "name": "end_call",
            "description": "End the call after saying goodbye.",
            "parameters": {"type": "object", "properties": {
                "outcome": {"type": "string", "enum": OUTCOMES},
                "reason": {"type": "string"}
            }, "required": ["outcome"]}
        }},
        {"type": "function", "function": {
            "name": "schedule_callback",
            "description": "The lead asked to be called back at a given time.",
            "parameters": {"type": "object", "properties": {
                "when": {"type": "string", "description": "Local date and time, ISO 8601, e.g. 2026-11-27T18:00"}
            }, "required": ["when"]}
        }},
        {"type": "function", "function": {
            "name": "mark_do_not_call",
            "description": "The lead asked never to be called again.",
            "parameters": {"type": "object", "properties": {}}
        }}
    ]);
    if let (Some(list), Some(transfer)) = (tools.as_array_mut(), transfer) {
        list.push(transfer);
    }
    tools
}

/// Reads one assembled tool call.
pub fn parse(name: &str, arguments: &str) -> ToolAction {
    let args: Value = match serde_json::from_str(if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    }) {
        Ok(v) => v,
        Err(e) => return ToolAction::Invalid(format!("arguments of {name} are not JSON: {e}")),
    };
    match name {
        "record_lead_details" => match args {
            Value::Object(map) => ToolAction::RecordDetails(
                map.into_iter()
                    .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                    .collect(),
            ),
            _ => ToolAction::Invalid("record_lead_details takes an object".into()),
        },
        "end_call" => {
            let outcome = args["outcome"].as_str().unwrap_or("not_interested");
            if OUTCOMES.contains(&outcome) {
                ToolAction::EndCall {
                    outcome: outcome.to_string(),
                }
            } else {
                ToolAction::Invalid(format!("unknown outcome {outcome:?}"))
            }
        }
        "schedule_callback" => match args["when"].as_str() {
            Some(when) => ToolAction::ScheduleCallback {
                when: when.to_string(),
            },
            None => ToolAction::Invalid("schedule_callback needs when".into()),
        },
        "mark_do_not_call" => ToolAction::DoNotCall,
        "transfer_to_human" => ToolAction::TransferToHuman,
        other => ToolAction::Invalid(format!("no tool named {other}")),
    }
}

/// Reads the callback time: RFC 3339 with a zone, or a local time in `tz`.
pub fn callback_time(when: &str, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(when) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let formats = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];
    let local = formats
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(when.trim(), f).ok())?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_read_their_arguments() {
        assert_eq!(
            parse(
                "record_lead_details",
                r#"{"budget":"80 lakh","location":null}"#
            ),
            ToolAction::RecordDetails(json!({"budget": "80 lakh"}).as_object().unwrap().clone())
        );
        assert_eq!(
            parse("end_call", r#"{"outcome":"qualified"}"#),
            ToolAction::EndCall {
                outcome: "qualified".into()
            }
        );
        assert!(matches!(
            parse("end_call", r#"{"outcome":"bored"}"#),
            ToolAction::Invalid(_)
        ));
        assert_eq!(parse("mark_do_not_call", ""), ToolAction::DoNotCall);
        assert_eq!(
            parse("transfer_to_human", r#"{"reason":"asked for a person"}"#),
            ToolAction::TransferToHuman
        );
        assert!(matches!(
            parse("record_lead_details", "{broken"),
            ToolAction::Invalid(_)
        ));
        assert!(matches!(parse("launch", "{}"), ToolAction::Invalid(_)));
    }

    #[test]
    fn callback_times() {
        let ist = chrono_tz::Asia::Kolkata;
        let t = callback_time("2026-11-27T18:00", ist).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T12:30:00+00:00");
        assert!(callback_time("tomorrow", ist).is_none());
        assert_eq!(callback_time("2026-11-27T18:00:00+05:30", ist), Some(t));
    }
}
