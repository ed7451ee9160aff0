//! OpenAI chat completions, streamed (`stream: true`), with tools; and a one-shot structured
//! extraction (`response_format: json_schema`). Works with any OpenAI-compatible base URL.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::deadlines::RequestClock;
use super::error::{Provider, ProviderError};
use super::sse::SseParser;
use super::unreadable::Unreadable;
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

/// What a completion stream yields.
pub type LlmItem = Result<LlmDelta, ProviderError>;

impl OpenAiClient {
    pub fn new(settings: ProviderSettings) -> OpenAiClient {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.deadlines.connect)
            .pool_idle_timeout(super::POOL_IDLE)
            .build()
            .unwrap_or_default();
        OpenAiClient { http, settings }
    }

    /// Opens (or keeps open) a pooled connection with a cheap request (`GET /models`), so
    /// a caller's turn never waits for TCP and TLS handshakes. Its answer does not matter.
    pub async fn warm(&self) {
        let mut request = self
            .http
            .get(format!("{}/models", self.settings.base_url))
            .timeout(self.settings.deadlines.total);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        if let Ok(response) = request.send().await {
            // Read to the end, so the connection goes back to the pool.
            let _ = response.bytes().await;
        }
    }

    fn request(&self, body: &impl Serialize) -> reqwest::RequestBuilder {
        let url = format!("{}/chat/completions", self.settings.base_url);
        let mut request = self.http.post(url).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        request
    }

    /// Starts a streamed completion. The stream yields text as it comes and the assembled tool
    /// calls at the end; it is bounded by the deadlines (first token, idle gap, total) and a
    /// stream that ends without `[DONE]` ends in a `Protocol` error. Dropping it cancels the
    /// request.
    pub async fn stream(
        &self,
        messages: &[ChatMessage],
        tools: &Value,
    ) -> Result<impl Stream<Item = LlmItem>, ProviderError> {
        // Serialised straight from the conversation: a `json!` body first copied every
        // message and the tool definitions into a tree, on every turn.
        let body = StreamRequest {
            model: &self.settings.model,
            messages,
            tools,
            tool_choice: "auto",
            temperature: 0.3,
            stream: true,
        };
        let clock = RequestClock::start(Provider::OpenAi, self.settings.deadlines);
        let response = clock
            .headers(self.request(&body).send())
            .await?
            .map_err(|e| ProviderError::from_transport(Provider::OpenAi, e))?;
        if !response.status().is_success() {
            return Err(ProviderError::from_response(Provider::OpenAi, response).await);
        }
        let bytes = response
            .bytes_stream()
            .map(|r| r.map_err(|e| ProviderError::from_transport(Provider::OpenAi, e)));
        Ok(decode_stream(clock.body(Box::pin(bytes))))
    }

    /// One non-streamed completion whose answer must follow `schema` (final fact extraction).
    pub async fn extract(
        &self,
        messages: &[ChatMessage],
        schema: &Value,
    ) -> Result<Value, ProviderError> {
        let body = json!({
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0,
            "response_format": {"type": "json_schema", "json_schema": {"name": "lead_facts", "schema": schema}},
        });
        let response = self
            .request(&body)
            .timeout(self.settings.deadlines.total)
            .send()
            .await
            .map_err(|e| ProviderError::from_transport(Provider::OpenAi, e))?;
        if !response.status().is_success() {
            return Err(ProviderError::from_response(Provider::OpenAi, response).await);
        }
        let value: Value = response
            .json()
            .await
            .map_err(|e| ProviderError::protocol(Provider::OpenAi, e.to_string()))?;
        let content = value["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or("{}");
        serde_json::from_str(content)
            .map_err(|e| ProviderError::protocol(Provider::OpenAi, e.to_string()))
    }
}

/// The body of a streamed completion, fields in the order the API documents them.
#[derive(Serialize)]
struct StreamRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    tools: &'a Value,
    tool_choice: &'static str,
    temperature: f64,
    stream: bool,
}

/// The parts of a stream chunk we read. Typed and borrowed: a chunk comes every few tokens,
/// and a `serde_json::Value` of each (every key a `String`) was most of what reading it cost.
/// The rare parts (an error, tool-call fragments) stay `Value`s.
#[derive(Deserialize)]
struct StreamChunk<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow)]
    choices: Option<Vec<StreamChoice<'a>>>,
}

#[derive(Deserialize)]
struct StreamChoice<'a> {
    #[serde(default, borrow)]
    delta: Option<StreamDelta<'a>>,
}

#[derive(Deserialize)]
struct StreamDelta<'a> {
    #[serde(default, borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

/// Turns the SSE byte stream into deltas.
fn decode_stream<S>(bytes: S) -> impl Stream<Item = LlmItem>
where
    S: Stream<Item = Result<bytes::Bytes, ProviderError>> + Unpin,
{
    struct State<S> {
        bytes: S,
        parser: SseParser,
        tools: ToolCallAssembler,
        queue: std::collections::VecDeque<LlmItem>,
        done: bool,
        unreadable: Unreadable,
    }
    let state = State {
        bytes,
        parser: SseParser::default(),
        tools: ToolCallAssembler::default(),
        queue: Default::default(),
        done: false,
        unreadable: Unreadable::default(),
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
                        let read = handle_event(&event, &mut st.tools, &mut st.queue, &mut st.done);
                        if let Err(e) = read {
                            st.unreadable.record(Provider::OpenAi, &e);
                        }
                        if st.done {
                            break;
                        }
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    st.queue.push_back(Err(e));
                }
                None => {
                    // The body ended without `[DONE]`: the answer may be cut anywhere (a
                    // half sentence, half a tool call's arguments), so it is not an answer.
                    st.done = true;
                    st.queue.push_back(Err(ProviderError::protocol(
                        Provider::OpenAi,
                        "the stream ended without [DONE]",
                    )));
                }
            }
        }
    })
}

fn handle_event(
    event: &str,
    tools: &mut ToolCallAssembler,
    queue: &mut std::collections::VecDeque<LlmItem>,
    done: &mut bool,
) -> Result<(), serde_json::Error> {
    if event.trim() == "[DONE]" {
        *done = true;
        queue.extend(
            std::mem::take(tools)
                .finish()
                .into_iter()
                .map(|c| Ok(LlmDelta::ToolCall(c))),
        );
        return Ok(());
    }
    // A chunk that cannot be read loses its piece of text, not the stream.
    let chunk = serde_json::from_str::<StreamChunk>(event)?;
    if let Some(error) = chunk.error {
        *done = true;
        let message = error["message"]
            .as_str()
            .unwrap_or("stream error")
            .to_string();
        let code = error["code"].as_str().or(error["type"].as_str());
        // An error inside a 200 stream: no status, only its code.
        let mut e = match code {
            Some(code) => ProviderError::from_status(Provider::OpenAi, 500, Some(code), None),
            None => ProviderError::transient(Provider::OpenAi, ""),
        };
        e.message = format!("error in stream: {message}");
        queue.push_back(Err(e));
        return Ok(());
    }
    let Some(delta) = chunk
        .choices
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.delta)
    else {
        return Ok(());
    };
    if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
        queue.push_back(Ok(LlmDelta::Text(text.into_owned())));
    }
    for fragment in delta.tool_calls.iter().flatten() {
        tools.push(fragment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(sse: &[u8], read: usize) -> Vec<LlmItem> {
        let chunks: Vec<Result<bytes::Bytes, ProviderError>> = sse
            .chunks(read)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        let stream = decode_stream(futures::stream::iter(chunks));
        futures::executor::block_on(stream.collect::<Vec<_>>())
    }

    fn run(sse: &str) -> Vec<LlmDelta> {
        decode(sse.as_bytes(), 7)
            .into_iter()
            .map(|r| r.unwrap())
            .collect()
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
        let chunks: Vec<Result<bytes::Bytes, ProviderError>> = vec![Ok(bytes::Bytes::from_static(
            b"data: {\"error\":{\"message\":\"boom\"}}\n\n",
        ))];
        let items: Vec<_> = futures::executor::block_on(
            decode_stream(futures::stream::iter(chunks)).collect::<Vec<_>>(),
        );
        assert!(items[0].as_ref().is_err());
    }

    #[test]
    fn nulls_escapes_and_choiceless_chunks() {
        let sse = concat!(
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":null}}],\"error\":null}\n\n",
            "data: {\"choices\":null}\n\n",
            "data: {\"choices\":[{\"index\":0}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Say \\\"haan\\\" \\u0939\\n\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":7}}]}\n\n",
            "data: [DONE]\n\n"
        );
        assert_eq!(run(sse), [LlmDelta::Text("Say \"haan\" \u{939}\n".into())]);
    }

    #[test]
    fn a_chunk_that_cannot_be_read_is_an_error_the_stream_counts_and_goes_past() {
        let (mut tools, mut queue, mut done) = Default::default();
        let mut read = |event: &str| handle_event(event, &mut tools, &mut queue, &mut done);
        let table = [
            (
                r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
                true,
            ),
            // The fake's unkind mode: `content` as a list.
            (
                r#"{"choices":[{"index":0,"delta":{"content":["Hi"]}}]}"#,
                false,
            ),
            (r#"{"choices":[{"index":0,"delta":{"content":7}}]}"#, false),
            (r#"{"choices":[{"index":0,"delta":{"content":"Hi"#, false),
            ("not json", false),
            (r#"{"choices":null}"#, true),
            ("[DONE]", true),
        ];
        for (event, readable) in table {
            assert_eq!(read(event).is_ok(), readable, "{event}");
        }
        assert!(done);
        assert_eq!(queue.len(), 1, "only the readable text: {queue:?}");
    }

    #[test]
    fn the_request_body_is_the_documented_shape() {
        let messages = [ChatMessage::text("system", "Be brief.")];
        let tools = json!([{"type": "function", "function": {"name": "end_call"}}]);
        let body = StreamRequest {
            model: "gpt-4o-mini",
            messages: &messages,
            tools: &tools,
            tool_choice: "auto",
            temperature: 0.3,
            stream: true,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}],
                "tools": tools, "tool_choice": "auto", "temperature": 0.3, "stream": true})
        );
    }

    #[test]
    fn a_stream_without_done_is_a_protocol_error() {
        use crate::providers::error::ProviderErrorKind;
        let sse = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half a sen\"}}]}\n\n";
        let items = decode(sse, 5);
        assert_eq!(items[0], Ok(LlmDelta::Text("Half a sen".into())));
        let e = items[1].as_ref().unwrap_err();
        assert_eq!(e.kind, ProviderErrorKind::Protocol);
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn a_quota_error_inside_the_stream_is_permanent() {
        let sse = b"data: {\"error\":{\"message\":\"You exceeded your current quota\",\"code\":\"insufficient_quota\"}}\n\n";
        let items = decode(sse, 64);
        assert!(items[0].as_ref().unwrap_err().is_permanent());
    }

    /// Tokens of multi-byte text, the body cut at every byte offset: the text comes back exact.
    #[test]
    fn multi_byte_tokens_survive_every_read_size() {
        let reply = crate::sandbox::fakes::brain::Reply {
            text: Some("Aapka budget ₹80 लाख है, सही?".into()),
            tool_calls: Vec::new(),
        };
        let body: String = crate::sandbox::fakes::openai::sse_chunks(&reply, "m").concat();
        for read in 1..=17 {
            let text: String = decode(body.as_bytes(), read)
                .into_iter()
                .map(|d| match d.unwrap() {
                    LlmDelta::Text(t) => t,
                    LlmDelta::ToolCall(_) => String::new(),
                })
                .collect();
            assert_eq!(
                text, "Aapka budget ₹80 लाख है, सही?",
                "reads of {read} bytes"
            );
        }
    }
}
