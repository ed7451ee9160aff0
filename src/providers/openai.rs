//! OpenAI chat completions, streamed (`stream: true`), with tools; and a one-shot structured
//! extraction (`response_format: json_schema`). Works with any OpenAI-compatible base URL.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::sse::SseParser;
use crate::config::ProviderSettings;

/// A message of the conversation as the API takes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatMessage {
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn text(role: &str, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    pub fn tool_result(call_id: &str, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: "tool".into(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }
}

/// A complete tool call (its arguments assembled from the streamed fragments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FunctionCall {
    pub name: String,
    /// JSON text.
    pub arguments: String,
}

/// What the stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmDelta {
    Text(String),
    /// Emitted once per call when the stream ends.
    ToolCall(ToolCall),
}

/// Why a completion failed, and whether to try again.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    pub message: String,
    pub retryable: bool,
}

impl LlmError {
    /// The shared provider error (the kind refined per status by the client).
    pub fn to_provider_error(&self) -> crate::providers::error::ProviderError {
        use crate::providers::error::{Provider, ProviderError};
        // An HTTP refusal reads "401 Unauthorized: …": its status decides (a bad key or an
        // empty quota is permanent and pauses the campaign).
        let status = self
            .message
            .split_whitespace()
            .next()
            .and_then(|code| code.parse::<u16>().ok())
            .filter(|code| (400..600).contains(code));
        if let Some(status) = status {
            let quota = self
                .message
                .contains("quota")
                .then_some("insufficient_quota");
            let mut error = ProviderError::from_status(Provider::OpenAi, status, quota, None);
            error.message = self.message.clone();
            return error;
        }
        if self.retryable {
            ProviderError::transient(Provider::OpenAi, self.message.clone())
        } else {
            ProviderError::protocol(Provider::OpenAi, self.message.clone())
        }
    }
}

/// Assembles tool calls from fragments, keyed by `index` (a missing index means "next slot"
/// when the id differs, for servers that omit it).
#[derive(Debug, Default)]
pub struct ToolCallAssembler {
    calls: BTreeMap<u64, ToolCall>,
}

impl ToolCallAssembler {
    pub fn push(&mut self, fragment: &Value) {
        let id = fragment.get("id").and_then(Value::as_str);
        let index = match fragment.get("index").and_then(Value::as_u64) {
            Some(i) => i,
            None => match (id, self.calls.iter().next_back()) {
                (Some(id), Some((i, last))) if last.id != id => i + 1,
                (_, Some((i, _))) => *i,
                (_, None) => 0,
            },
        };
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            kind: "function".into(),
            function: FunctionCall {
                name: String::new(),
                arguments: String::new(),
            },
        });
        if let Some(id) = id {
            call.id = id.to_string();
        }
        if let Some(f) = fragment.get("function") {
            if let Some(name) = f.get("name").and_then(Value::as_str) {
                call.function.name.push_str(name);
            }
            if let Some(args) = f.get("arguments").and_then(Value::as_str) {
                call.function.arguments.push_str(args);
            }
        }
    }

    pub fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_values()
            .filter(|c| !c.function.name.is_empty())
            .map(|mut c| {
                if c.id.is_empty() {
                    c.id = format!("call_{}", c.function.name);
                }
                c
            })
            .collect()
    }
}

/// A configured OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    settings: ProviderSettings,
}

impl OpenAiClient {
    pub fn new(settings: ProviderSettings) -> OpenAiClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        OpenAiClient { http, settings }
    }

    fn request(&self, body: &Value) -> reqwest::RequestBuilder {
        let url = format!("{}/chat/completions", self.settings.base_url);
        let mut request = self.http.post(url).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        request
    }

    /// Starts a streamed completion. The stream yields text as it comes and the assembled tool
    /// calls at the end. Dropping it cancels the request.
    pub async fn stream(
        &self,
        messages: &[ChatMessage],
        tools: &Value,
    ) -> Result<impl Stream<Item = Result<LlmDelta, LlmError>>, LlmError> {
        let body = json!({
            "model": self.settings.model,
            "messages": messages,
            "tools": tools,
            "tool_choice": "auto",
            "temperature": 0.3,
            "stream": true,
        });
        let response = tokio::time::timeout(Duration::from_secs(10), self.request(&body).send())
            .await
            .map_err(|_| LlmError {
                message: "no answer within 10 s".into(),
                retryable: true,
            })?
            .map_err(|e| LlmError {
                message: e.without_url().to_string(),
                retryable: true,
            })?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(String::from))
                .unwrap_or(text);
            let quota = message.contains("quota");
            return Err(LlmError {
                message: format!("{status}: {message}"),
                retryable: (status.as_u16() == 429 && !quota) || status.is_server_error(),
            });
        }
        Ok(decode_stream(response.bytes_stream()))
    }

    /// One non-streamed completion whose answer must follow `schema` (final fact extraction).
    pub async fn extract(
        &self,
        messages: &[ChatMessage],
        schema: &Value,
    ) -> Result<Value, LlmError> {
        let body = json!({
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0,
            "response_format": {"type": "json_schema", "json_schema": {"name": "lead_facts", "schema": schema}},
        });
        let response = self
            .request(&body)
            .timeout(Duration::from_secs(8))
            .send()
            .await
            .map_err(|e| LlmError {
                message: e.without_url().to_string(),
                retryable: true,
            })?;
        let value: Value = response.json().await.map_err(|e| LlmError {
            message: e.to_string(),
            retryable: false,
        })?;
        let content = value["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or("{}");
        serde_json::from_str(content).map_err(|e| LlmError {
            message: e.to_string(),
            retryable: false,
        })
    }
}

/// Turns the SSE byte stream into deltas.
fn decode_stream<S, E>(bytes: S) -> impl Stream<Item = Result<LlmDelta, LlmError>>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    struct State<S> {
        bytes: S,
        parser: SseParser,
        tools: ToolCallAssembler,
        queue: std::collections::VecDeque<Result<LlmDelta, LlmError>>,
        done: bool,
    }
    let state = State {
        bytes,
        parser: SseParser::default(),
        tools: ToolCallAssembler::default(),
        queue: Default::default(),
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.queue.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            match st.bytes.next().await {
                Some(Ok(chunk)) => {
                    for event in st.parser.push(&chunk) {
                        handle_event(&event, &mut st.tools, &mut st.queue, &mut st.done);
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    st.queue.push_back(Err(LlmError {
                        message: e.to_string(),
                        retryable: true,
                    }));
                }
                None => {
                    st.done = true;
                    let calls = std::mem::take(&mut st.tools).finish();
                    st.queue
                        .extend(calls.into_iter().map(|c| Ok(LlmDelta::ToolCall(c))));
                }
            }
        }
    })
}

fn handle_event(
    event: &str,
    tools: &mut ToolCallAssembler,
    queue: &mut std::collections::VecDeque<Result<LlmDelta, LlmError>>,
    done: &mut bool,
) {
    if event.trim() == "[DONE]" {
        *done = true;
        queue.extend(
            std::mem::take(tools)
                .finish()
                .into_iter()
                .map(|c| Ok(LlmDelta::ToolCall(c))),
        );
        return;
    }
    let Ok(chunk) = serde_json::from_str::<Value>(event) else {
        return;
    };
    if let Some(error) = chunk.get("error") {
        *done = true;
        let message = error["message"]
            .as_str()
            .unwrap_or("stream error")
            .to_string();
        queue.push_back(Err(LlmError {
            message,
            retryable: true,
        }));
        return;
    }
    let Some(choice) = chunk["choices"].as_array().and_then(|c| c.first()) else {
        return;
    };
    let delta = &choice["delta"];
    if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
        queue.push_back(Ok(LlmDelta::Text(text.to_string())));
    }
    for fragment in delta["tool_calls"].as_array().into_iter().flatten() {
        tools.push(fragment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sse: &str) -> Vec<LlmDelta> {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = sse
            .as_bytes()
            .chunks(7)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        let stream = decode_stream(futures::stream::iter(chunks));
        futures::executor::block_on(stream.map(|r| r.unwrap()).collect::<Vec<_>>())
    }

    #[test]
    fn text_and_fragmented_parallel_tool_calls() {
        let sse = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Great, \"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"record_lead_details\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"end_call\",\"arguments\":\"{\\\"out\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"budget\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"80L\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"come\\\":\\\"qualified\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"total_tokens\":5}}\n\n",
            "data: [DONE]\n\n"
        );
        let deltas = run(sse);
        assert_eq!(deltas[0], LlmDelta::Text("Great, ".into()));
        let LlmDelta::ToolCall(a) = &deltas[1] else {
            panic!()
        };
        assert_eq!(
            (a.id.as_str(), a.function.name.as_str()),
            ("call_a", "record_lead_details")
        );
        assert_eq!(
            serde_json::from_str::<Value>(&a.function.arguments).unwrap()["budget"],
            "80L"
        );
        let LlmDelta::ToolCall(b) = &deltas[2] else {
            panic!()
        };
        assert_eq!(b.function.arguments, "{\"outcome\":\"qualified\"}");
    }

    #[test]
    fn missing_index_and_mid_stream_error() {
        let mut a = ToolCallAssembler::default();
        a.push(&json!({"id": "x", "function": {"name": "end_call", "arguments": "{}"}}));
        a.push(&json!({"id": "y", "function": {"name": "mark_do_not_call", "arguments": "{}"}}));
        assert_eq!(a.finish().len(), 2);
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![Ok(
            bytes::Bytes::from_static(b"data: {\"error\":{\"message\":\"boom\"}}\n\n"),
        )];
        let items: Vec<_> = futures::executor::block_on(
            decode_stream(futures::stream::iter(chunks)).collect::<Vec<_>>(),
        );
        assert!(items[0].as_ref().is_err());
    }
}
