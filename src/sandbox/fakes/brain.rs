//! The fake LLM's brain: follows the campaign's playbook deterministically, as read from the
//! request itself (the facts are `record_lead_details`' parameters, in order, with "(required)"
//! in their descriptions; the current local time is in the system prompt). It asks for the
//! missing facts in order, records them when it hears them, handles "not interested", "call me
//! later", "don't call me" and "wrong number", and ends the call when it has what it needs.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Map, Value};

/// What the fake LLM answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: Option<String>,
    pub tool_calls: Vec<(String, Value)>,
}

impl Reply {
    fn say(text: impl Into<String>) -> Reply {
        Reply {
            text: Some(text.into()),
            tool_calls: Vec::new(),
        }
    }

    fn with_tool(mut self, name: &str, args: Value) -> Reply {
        self.tool_calls.push((name.to_string(), args));
        self
    }
}

struct FactSpec {
    name: String,
    question: String,
    required: bool,
}

fn fact_specs(request: &Value) -> Vec<FactSpec> {
    let tools = request["tools"].as_array().cloned().unwrap_or_default();
    let record = tools
        .iter()
        .find(|t| t["function"]["name"] == "record_lead_details");
    let properties = record.and_then(|t| {
        t["function"]["parameters"]["properties"]
            .as_object()
            .cloned()
    });
    properties
        .into_iter()
        .flatten()
        .map(|(name, p)| {
            let description = p["description"].as_str().unwrap_or("").to_string();
            FactSpec {
                required: description.contains("(required)"),
                question: description
                    .replace(" (required)", "")
                    .replace(" (optional)", ""),
                name,
            }
        })
        .collect()
}

/// Facts already recorded in this conversation (from earlier tool calls).
fn known_facts(messages: &[Value]) -> Map<String, Value> {
    let mut known = Map::new();
    for m in messages {
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            if call["function"]["name"] == "record_lead_details" {
                let args = call["function"]["arguments"].as_str().unwrap_or("{}");
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(args) {
                    known.extend(map);
                }
            }
        }
    }
    known
}

pub fn decide(request: &Value) -> Reply {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let specs = fact_specs(request);
    let known = known_facts(&messages);
    let Some(last) = messages.last() else {
        return Reply::say("Hello!");
    };
    if last["role"] == "tool" {
        return next_question(&specs, &known);
    }
    let heard = last["content"].as_str().unwrap_or("").to_lowercase();
    if let Some(reply) = intent(&heard, request) {
        return reply;
    }
    let new: Map<String, Value> = extract_facts(&heard)
        .into_iter()
        .filter(|(k, v)| specs.iter().any(|s| &s.name == k) && known.get(k) != Some(v))
        .collect();
    if new.is_empty() {
        return next_question(&specs, &known);
    }
    let record = (
        "record_lead_details".to_string(),
        Value::Object(new.clone()),
    );
    if !speaks_with_tools(&messages) {
        return Reply {
            text: None,
            tool_calls: vec![record],
        };
    }
    // Told to (`SPEAK_WITH_TOOLS`), a model records the facts and asks its next question in
    // one response, as real models do when the prompt says so.
    let mut after = known;
    after.extend(new);
    let mut reply = next_question(&specs, &after);
    reply.tool_calls.insert(0, record);
    reply
}

/// Whether the system prompt asks for words with every tool call.
fn speaks_with_tools(messages: &[Value]) -> bool {
    messages
        .first()
        .filter(|m| m["role"] == "system")
        .and_then(|m| m["content"].as_str())
        .is_some_and(|p| p.contains(crate::call::tools::SPEAK_WITH_TOOLS))
}

fn next_question(specs: &[FactSpec], known: &Map<String, Value>) -> Reply {
    if let Some(missing) = specs
        .iter()
        .find(|s| s.required && !known.contains_key(&s.name))
    {
        return Reply::say(missing.question.clone());
    }
    let get = |k: &str| {
        known
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Reply::say(format!(
        "Thanks! A {} in {}, budget {}. Our expert will call you. Bye!",
        get("property_type"),
        get("location"),
        get("budget")
    ))
    .with_tool("end_call", json!({"outcome": "qualified"}))
}

fn intent(heard: &str, request: &Value) -> Option<Reply> {
    let any = |words: &[&str]| words.iter().any(|w| heard.contains(w));
    if any(&[
        "a person",
        "to someone",
        "real person",
        "a human",
        "kisi se baat",
    ]) {
        return Some(ask_for_a_person(request));
    }
    if any(&[
        "don't call",
        "do not call",
        "never call",
        "stop calling",
        "mat karo call",
    ]) {
        return Some(
            Reply::say("Sorry. We will not call again. Bye!")
                .with_tool("mark_do_not_call", json!({})),
        );
    }
    if any(&["wrong number"]) {
        return Some(
            Reply::say("Sorry for the trouble. Goodbye!")
                .with_tool("end_call", json!({"outcome": "wrong_number"})),
        );
    }
    if any(&[
        "not interested",
        "no thanks",
        "don't want",
        "nahi chahiye",
        "interest nahi",
    ]) {
        return Some(
            Reply::say("No problem. Thanks for your time. Bye!")
                .with_tool("end_call", json!({"outcome": "not_interested"})),
        );
    }
    if any(&[
        "call me",
        "call back",
        "callback",
        "later",
        "busy right now",
        "baad mein",
    ]) {
        let when = callback_time(heard, &system_prompt(request));
        let spoken = when.format("%A at %-I %p").to_string();
        return Some(
            Reply::say(format!("Sure, I will call you {spoken}. Bye!")).with_tool(
                "schedule_callback",
                json!({"when": when.format("%Y-%m-%dT%H:%M").to_string()}),
            ),
        );
    }
    None
}

/// A lead asks for a person: handed over when `transfer_to_human` is offered (the runtime
/// says the hand-off line, so the model says nothing), else offered a call-back.
fn ask_for_a_person(request: &Value) -> Reply {
    let offered = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["function"]["name"] == "transfer_to_human");
    if offered {
        return Reply {
            text: None,
            tool_calls: vec![(
                "transfer_to_human".into(),
                json!({"reason": "asked for a person"}),
            )],
        };
    }
    Reply::say("Our team is not available right now. Shall I have them call you back tomorrow?")
}

fn system_prompt(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "system"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

/// "tomorrow at 6" → the next day at 18:00, from "Current local time: …" in the prompt.
fn callback_time(heard: &str, prompt: &str) -> NaiveDateTime {
    let now = prompt
        .split("Current local time: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|t| NaiveDateTime::parse_from_str(t.trim_end_matches('.'), "%Y-%m-%dT%H:%M").ok())
        .unwrap_or_else(|| chrono::Utc::now().naive_utc());
    let mut day = now.date();
    if heard.contains("tomorrow") || heard.contains("kal") {
        day += Duration::days(1);
    }
    let hour = heard
        .split("at ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|h| h.parse::<u32>().ok())
        .map(|h| if h < 9 { h + 12 } else { h })
        .filter(|h| *h < 24)
        .unwrap_or(11);
    let at = day.and_hms_opt(hour, 0, 0).unwrap_or(now);
    if at <= now {
        at + Duration::days(1)
    } else {
        at
    }
}

/// Facts a person says in a sentence: property types, "in <place>", budgets in lakh/crore,
/// timelines. Keyword rules, enough for scripted personas.
pub fn extract_facts(heard: &str) -> Map<String, Value> {
    let mut facts = Map::new();
    let words: Vec<&str> = heard
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_end_matches(['.', '?', '!']))
        .filter(|w| !w.is_empty())
        .collect();
    const TYPES: [&str; 9] = [
        "1bhk",
        "2bhk",
        "3bhk",
        "4bhk",
        "apartment",
        "flat",
        "villa",
        "plot",
        "penthouse",
    ];
    if let Some(t) = words.iter().find(|w| TYPES.contains(w)) {
        facts.insert("property_type".into(), json!(t));
    }
    for (i, w) in words.iter().enumerate() {
        if (*w == "in" || *w == "near") && i + 1 < words.len() {
            let place = words[i + 1];
            if place.chars().all(char::is_alphabetic)
                && !["the", "a", "my", "about", "next"].contains(&place)
            {
                facts.insert("location".into(), json!(capitalise(place)));
            }
        }
        let unit = words.get(i + 1).copied().unwrap_or("");
        if w.parse::<f64>().is_ok()
            && ["lakh", "lakhs", "lac", "crore", "crores", "cr"].contains(&unit)
        {
            let unit = if unit.starts_with('c') {
                "crore"
            } else {
                "lakh"
            };
            facts.insert("budget".into(), json!(format!("{w} {unit}")));
        }
        if ["month", "months", "year", "years", "weeks"].contains(w) && i > 0 {
            let start = i.saturating_sub(2);
            facts.insert("timeline".into(), json!(words[start..=i].join(" ")));
        }
    }
    facts
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The fake's answer to a structured extraction request: the facts in every user message.
pub fn extract_from_request(request: &Value) -> Value {
    let mut facts = Map::new();
    for m in request["messages"].as_array().into_iter().flatten() {
        for line in m["content"].as_str().unwrap_or("").lines() {
            if let Some(said) = line.strip_prefix("user: ") {
                facts.extend(extract_facts(&said.to_lowercase()));
            }
        }
    }
    Value::Object(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(messages: Value) -> Value {
        json!({
            "messages": messages,
            "tools": [{"type": "function", "function": {"name": "record_lead_details", "parameters": {"type": "object", "properties": {
                "property_type": {"type": "string", "description": "What kind of property? (required)"},
                "location": {"type": "string", "description": "Which area? (required)"},
                "budget": {"type": "string", "description": "What budget? (required)"},
                "timeline": {"type": "string", "description": "When? (optional)"}
            }}}}]
        })
    }

    #[test]
    fn records_then_asks_in_order_then_closes() {
        let r = decide(&request(json!([
            {"role": "system", "content": "Current local time: Thursday 2026-11-26T11:00."},
            {"role": "user", "content": "I want a 2BHK in Pune"}
        ])));
        assert_eq!(r.tool_calls[0].0, "record_lead_details");
        assert_eq!(
            r.tool_calls[0].1,
            json!({"property_type": "2bhk", "location": "Pune"})
        );
        let r = decide(&request(json!([
            {"role": "user", "content": "I want a 2BHK in Pune"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "record_lead_details", "arguments": "{\"property_type\":\"2bhk\",\"location\":\"Pune\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "recorded"}
        ])));
        assert_eq!(r.text.as_deref(), Some("What budget?"));
        let r = decide(&request(json!([
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "record_lead_details", "arguments": "{\"property_type\":\"2bhk\",\"location\":\"Pune\",\"budget\":\"80 lakh\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "recorded"}
        ])));
        assert!(r.text.unwrap().contains("80 lakh"));
        assert_eq!(
            r.tool_calls[0],
            ("end_call".to_string(), json!({"outcome": "qualified"}))
        );
    }

    /// Told to speak with its tool calls, the model records and asks in one response; the
    /// last fact brings the goodbye, the record and `end_call` together.
    #[test]
    fn told_to_speak_with_tools_it_records_and_asks_in_one_response() {
        let prompt = json!({"role": "system", "content": format!("x.\n{}\n", crate::call::tools::SPEAK_WITH_TOOLS)});
        let r = decide(&request(json!([
            prompt,
            {"role": "user", "content": "I want a 2BHK in Pune"}
        ])));
        assert_eq!(r.text.as_deref(), Some("What budget?"));
        assert_eq!(
            r.tool_calls,
            [(
                "record_lead_details".to_string(),
                json!({"property_type": "2bhk", "location": "Pune"})
            )]
        );
        let r = decide(&request(json!([
            prompt,
            {"role": "assistant", "content": "What budget?", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "record_lead_details", "arguments": "{\"property_type\":\"2bhk\",\"location\":\"Pune\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "recorded"},
            {"role": "user", "content": "80 lakh"}
        ])));
        assert!(r.text.unwrap().contains("80 lakh"));
        let names: Vec<&str> = r.tool_calls.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["record_lead_details", "end_call"]);
    }

    #[test]
    fn intents() {
        let prompt = json!({"role": "system", "content": "x. Current local time: Thursday 2026-11-26T11:00."});
        let r = decide(&request(
            json!([prompt, {"role": "user", "content": "I am busy, call me tomorrow at 6"}]),
        ));
        assert_eq!(
            r.tool_calls[0],
            (
                "schedule_callback".to_string(),
                json!({"when": "2026-11-27T18:00"})
            )
        );
        let r = decide(&request(
            json!([{"role": "user", "content": "Sorry, I am not interested."}]),
        ));
        assert_eq!(r.tool_calls[0].1["outcome"], "not_interested");
        let r = decide(&request(
            json!([{"role": "user", "content": "Please don't call me again"}]),
        ));
        assert_eq!(r.tool_calls[0].0, "mark_do_not_call");
        let r = decide(&request(
            json!([{"role": "user", "content": "wrong number"}]),
        ));
        assert_eq!(r.tool_calls[0].1["outcome"], "wrong_number");
    }

    #[test]
    fn facts_from_sentences() {
        let f =
            extract_facts("budget is about 1.5 crore, within 6 months, a villa near whitefield");
        assert_eq!(f["budget"], "1.5 crore");
        assert_eq!(f["property_type"], "villa");
        assert_eq!(f["location"], "Whitefield");
        assert_eq!(f["timeline"], "within 6 months");
    }
}
