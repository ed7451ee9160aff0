//! After the call: one structured LLM request for the facts the tools did not record.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::conversation::playbook::Playbook;
use crate::providers::openai::{ChatMessage, OpenAiClient};

/// Asks the LLM once, with a JSON schema, for required facts the tools missed. Best effort:
/// if the LLM is unreachable, what the tools gathered stands.
pub(super) async fn fill_missing_facts(
    openai: &OpenAiClient,
    playbook: &Playbook,
    history: &[ChatMessage],
    facts: &mut Map<String, Value>,
) {
    let properties: Map<String, Value> = playbook
        .facts
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                json!({"type": ["string", "null"], "description": f.question}),
            )
        })
        .collect();
    let schema = json!({"type": "object", "properties": properties});
    let transcript: String = history
        .iter()
        .filter(|m| m.role == "user" || m.role == "assistant")
        .filter_map(|m| m.content.as_ref().map(|c| format!("{}: {c}\n", m.role)))
        .collect();
    let messages = vec![
        ChatMessage::text(
            "system",
            "Extract the lead's facts from this call transcript. Use null for facts not said.",
        ),
        ChatMessage::text("user", transcript),
    ];
    let Ok(Ok(found)) =
        tokio::time::timeout(Duration::from_secs(5), openai.extract(&messages, &schema)).await
    else {
        return;
    };
    for (k, v) in found.as_object().into_iter().flatten() {
        if !v.is_null() && v.as_str() != Some("") && !facts.contains_key(k) {
            facts.insert(k.clone(), v.clone());
        }
    }
}
