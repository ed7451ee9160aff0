//! A provider message with a field of the wrong type cannot be read: it is dropped, counted in
//! `voice_provider_unreadable_messages_total{provider}` and logged without its text, and the
//! call goes on. The fakes garble the first results with words (Deepgram's `is_final` as a
//! string) and the first text chunks of an answer (OpenAI's `content` as a list).

use serde_json::json;

use crate::both_backends;
use crate::helpers::Backend;
use crate::live_support::interested;
use crate::process_support::*;

/// The counter's value for one provider in the server's `/metrics` (`None`: not there).
async fn unreadable(w: &World, server: &Server, provider: &str) -> Option<f64> {
    let series = format!("voice_provider_unreadable_messages_total{{provider=\"{provider}\"}}");
    w.metric(server, &series).await
}

async fn garbled_provider_messages_are_counted_and_the_call_goes_on(backend: Backend) {
    let w = world(backend).await;
    let server = w
        .serve(&[("LOG_FORMAT", "json"), ("RUST_LOG", "warn")])
        .await;
    w.talk_with(&server, interested());
    w.deepgram().knobs.wrong_types_next(2);
    w.openai().knobs.wrong_types_next(2);
    let id = w.campaign(&server, 1, json!({"max_attempts": 1})).await;
    crate::engine_support::eventually(120, "the call is saved", || async {
        w.conversations(&server, id).await.len() == 1
    })
    .await;
    assert_eq!(w.deepgram().knobs.injected(), 2, "two results were garbled");
    assert_eq!(w.openai().knobs.injected(), 2, "two chunks were garbled");
    assert_eq!(unreadable(&w, &server, "deepgram").await, Some(2.0));
    assert_eq!(unreadable(&w, &server, "openai").await, Some(2.0));
    let call = &w.conversations(&server, id).await[0];
    assert_eq!(call["final_outcome"], "qualified", "{call}");
    // Logged, one warning per provider (a minute), without what was said: serde's own message
    // would quote the garbled value, and a transcript holds the caller's words.
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("a provider message could not be read"))
        .collect();
    assert_eq!(warnings.len(), 2, "one warning per provider: {log}");
    for line in warnings {
        assert!(line.contains("\"call_sid\":\""), "no call_sid: {line}");
        // serde's message would say `invalid type: string "true", expected a boolean`.
        assert!(
            !line.contains("invalid type"),
            "serde's message was logged: {line}"
        );
        assert!(
            line.contains("\"category\":\"Data\""),
            "the error's kind: {line}"
        );
        // Nothing of the message itself: only these fields, none of them text from the provider.
        let event: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        let mut fields: Vec<&str> = event["fields"]
            .as_object()
            .expect("the event's fields")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let expected = [
            "category",
            "column",
            "dropped_since_last",
            "message",
            "provider",
        ];
        assert_eq!(fields, expected, "{line}");
    }
}

both_backends!(garbled_provider_messages_are_counted_and_the_call_goes_on);
