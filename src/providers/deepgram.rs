//! Deepgram live transcription over a WebSocket (tokio-tungstenite): audio frames out,
//! `Results` / `UtteranceEnd` / `SpeechStarted` in. `Authorization: Token <key>`.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::error::{body_code, Provider, ProviderError, ProviderErrorKind};
use super::unreadable::Unreadable;
use crate::config::ProviderSettings;

/// What the transcriber tells us.
#[derive(Debug, Clone, PartialEq)]
pub enum SttEvent {
    /// Words so far; will change.
    Interim(String),
    /// Words that will not change; `speech_final` when the speaker paused (endpointing).
    Final {
        text: String,
        speech_final: bool,
        /// The answer to our `Finalize` (the words so far, flushed), not endpointing.
        from_finalize: bool,
    },
    /// A pause after the last word (the fallback end-of-turn signal).
    UtteranceEnd,
    SpeechStarted,
    /// The socket ended (cleanly or not).
    Closed(String),
}

/// What we send.
#[derive(Debug)]
pub enum Outgoing {
    Audio(Bytes),
    KeepAlive,
    /// Flush: what was heard comes back final now (`from_finalize`), without waiting for
    /// the endpointing silence.
    Finalize,
    Close,
}

/// A live connection: a bounded sender for audio (so a slow socket drops audio, never memory)
/// and the events it produces.
pub struct Connection {
    pub outgoing: mpsc::Sender<Outgoing>,
    pub events: mpsc::UnboundedReceiver<SttEvent>,
    /// When Deepgram last sent anything (empty results included): the results watchdog.
    pub last_frame: Arc<Mutex<Instant>>,
}

/// How long the socket may take to close once we have said `CloseStream`.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

pub fn listen_url(settings: &ProviderSettings, sample_rate: u32, language: &str) -> String {
    let language = if language.starts_with("hi") {
        "hi"
    } else {
        "en-IN"
    };
    format!(
        "{}?model={}&language={language}&encoding=linear16&sample_rate={sample_rate}&channels=1\
         &interim_results=true&endpointing=300&utterance_end_ms=1000&vad_events=true&smart_format=true&punctuate=true",
        settings.base_url, settings.model
    )
}

fn connect_error(e: tokio_tungstenite::tungstenite::Error) -> ProviderError {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Http(response) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let code = body_code(&body);
            let mut error = ProviderError::from_status(
                Provider::Deepgram,
                response.status().as_u16(),
                code.as_deref(),
                None,
            );
            error.message = format!("{} {}", error.message, code.unwrap_or_default());
            error
        }
        other => {
            ProviderError::transient(Provider::Deepgram, format!("connection failed: {other}"))
        }
    }
}

/// Opens the stream. The writer task ends (closing the socket) when every sender is dropped,
/// after sending what was queued; the reader ends when the socket does, or `CLOSE_GRACE`
/// after our close if Deepgram never answers it, so no connection outlives its call.
pub async fn connect(
    settings: &ProviderSettings,
    sample_rate: u32,
    language: &str,
) -> Result<Connection, ProviderError> {
    let mut request = listen_url(settings, sample_rate, language)
        .into_client_request()
        .map_err(|e| ProviderError::protocol(Provider::Deepgram, e.to_string()))?;
    if let Some(key) = &settings.api_key {
        let value = format!("Token {key}").parse().map_err(|_| {
            ProviderError::new(
                Provider::Deepgram,
                ProviderErrorKind::Auth,
                "bad DEEPGRAM_API_KEY",
            )
        })?;
        request.headers_mut().insert("Authorization", value);
    }
    // tungstenite's default 128 KiB read buffer per socket would be most of a call's memory;
    // transcripts are small JSON frames.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024);
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    let limit = settings.deadlines.connect;
    let (socket, _) = tokio::time::timeout(limit, connecting)
        .await
        .map_err(|_| {
            ProviderError::timeout(Provider::Deepgram, format!("no answer within {limit:?}"))
        })?
        .map_err(connect_error)?;
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(256);
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let closed = Arc::new(tokio::sync::Notify::new());
    let closed_by_us = closed.clone();
    tokio::spawn(
        async move {
            while let Some(item) = out_rx.recv().await {
                let message = match item {
                    // Never an empty binary frame: Deepgram reads it as end of stream.
                    Outgoing::Audio(bytes) if bytes.is_empty() => continue,
                    Outgoing::Audio(bytes) => Message::Binary(bytes),
                    Outgoing::KeepAlive => Message::Text(r#"{"type":"KeepAlive"}"#.into()),
                    Outgoing::Finalize => Message::Text(r#"{"type":"Finalize"}"#.into()),
                    Outgoing::Close => Message::Text(r#"{"type":"CloseStream"}"#.into()),
                };
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
            closed_by_us.notify_one();
        }
        .in_current_span(),
    );
    let last_frame = Arc::new(Mutex::new(Instant::now()));
    let heard = last_frame.clone();
    tokio::spawn(
        async move {
            let grace = async {
                closed.notified().await;
                tokio::time::sleep(CLOSE_GRACE).await;
            };
            tokio::pin!(grace);
            let mut unreadable = Unreadable::default();
            let reason = loop {
                let next = tokio::select! {
                    next = stream.next() => next,
                    () = &mut grace => break "closed by us; Deepgram did not close".to_string(),
                };
                match next {
                    Some(Ok(Message::Text(text))) => {
                        *heard.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                        match parse_event(&text) {
                            Ok(Some(event)) => {
                                if ev_tx.send(event).is_err() {
                                    // Nobody listens: dropping the stream closes the socket.
                                    return;
                                }
                            }
                            Ok(None) => {}
                            Err(e) => unreadable.record(Provider::Deepgram, &e),
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break frame
                            .map(|f| format!("closed {}: {}", f.code, f.reason))
                            .unwrap_or_else(|| "closed".into())
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break e.to_string(),
                    None => break "connection ended".into(),
                }
            };
            let _ = ev_tx.send(SttEvent::Closed(reason));
        }
        .in_current_span(),
    );
    Ok(Connection {
        outgoing: out_tx,
        events: ev_rx,
        last_frame,
    })
}

/// A server message's type; the rest of it is skipped without being built.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// The fields of a `Results` message we read. Typed rather than a `serde_json::Value`: a
/// transcript arrives several times a second per call, and building the whole tree (the
/// `words` array, every key as a `String`) was most of what reading one cost.
#[derive(Deserialize)]
struct Results<'a> {
    #[serde(default)]
    is_final: Option<bool>,
    #[serde(default)]
    speech_final: Option<bool>,
    #[serde(default)]
    from_finalize: Option<bool>,
    #[serde(default, borrow)]
    channel: Option<Channel<'a>>,
}

#[derive(Deserialize)]
struct Channel<'a> {
    #[serde(default, borrow)]
    alternatives: Vec<Alternative<'a>>,
}

#[derive(Deserialize)]
struct Alternative<'a> {
    #[serde(default, borrow)]
    transcript: Cow<'a, str>,
}

/// One server message: `Ok(None)` for the ones we do not use (Metadata, empty interims), an
/// error for what cannot be read (not JSON, or a field we read of the wrong type: the whole
/// message is dropped, see `unreadable`).
pub fn parse_event(text: &str) -> Result<Option<SttEvent>, serde_json::Error> {
    // Two passes: the type first, since other messages use the same keys differently
    // (`UtteranceEnd`'s `channel` is a list).
    let head: Head = serde_json::from_str(text)?;
    Ok(match head.kind.as_ref() {
        "Results" => {
            let results: Results = serde_json::from_str(text)?;
            let transcript = results
                .channel
                .and_then(|c| c.alternatives.into_iter().next())
                .map(|a| a.transcript.trim().to_string())
                .unwrap_or_default();
            let speech_final = results.speech_final.unwrap_or(false);
            if results.is_final.unwrap_or(false) || speech_final {
                Some(SttEvent::Final {
                    text: transcript,
                    speech_final,
                    from_finalize: results.from_finalize.unwrap_or(false),
                })
            } else if transcript.is_empty() {
                None
            } else {
                Some(SttEvent::Interim(transcript))
            }
        }
        "UtteranceEnd" => Some(SttEvent::UtteranceEnd),
        "SpeechStarted" => Some(SttEvent::SpeechStarted),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<SttEvent> {
        parse_event(text).unwrap()
    }

    #[test]
    fn results_and_friends() {
        let interim = r#"{"type":"Results","channel_index":[0,1],"is_final":false,"speech_final":false,"channel":{"alternatives":[{"transcript":"This is the","confidence":0.9,"words":[]}]}}"#;
        assert_eq!(read(interim), Some(SttEvent::Interim("This is the".into())));
        let fin = r#"{"type":"Results","is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"This is it."}]}}"#;
        assert_eq!(
            read(fin),
            Some(SttEvent::Final {
                text: "This is it.".into(),
                speech_final: true,
                from_finalize: false,
            })
        );
        let flushed = r#"{"type":"Results","is_final":true,"speech_final":false,"from_finalize":true,"channel":{"alternatives":[{"transcript":"my budget is"}]}}"#;
        assert_eq!(
            read(flushed),
            Some(SttEvent::Final {
                text: "my budget is".into(),
                speech_final: false,
                from_finalize: true,
            })
        );
        let empty =
            r#"{"type":"Results","is_final":false,"channel":{"alternatives":[{"transcript":""}]}}"#;
        assert_eq!(read(empty), None);
        assert_eq!(
            read(r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.3}"#),
            Some(SttEvent::UtteranceEnd)
        );
        assert_eq!(
            read(r#"{"type":"SpeechStarted","channel":[0,1],"timestamp":9.5}"#),
            Some(SttEvent::SpeechStarted)
        );
        assert_eq!(read(r#"{"type":"Metadata"}"#), None);
        assert!(parse_event("nope").is_err(), "not JSON");
        // Escapes in the words, keys in another order, nulls and extra fields.
        let escaped = r#"{"channel":{"alternatives":[{"words":[{"word":"haan"}],"transcript":" haan ji, \"theek\" hai \u0939 "}]},"is_final":null,"speech_final":true,"type":"Results","metadata":{"request_id":"x"}}"#;
        assert_eq!(
            read(escaped),
            Some(SttEvent::Final {
                text: "haan ji, \"theek\" hai \u{939}".into(),
                speech_final: true,
                from_finalize: false,
            })
        );
        // A final without alternatives is an empty final (the turn-taking reads it).
        assert_eq!(
            read(r#"{"type":"Results","is_final":true,"channel":{"alternatives":[]}}"#),
            Some(SttEvent::Final {
                text: String::new(),
                speech_final: false,
                from_finalize: false,
            })
        );
        // Garbled: a field we read of the wrong type, or cut short. Errors, so they are
        // counted (`unreadable`); a field we do not read may be anything.
        assert!(parse_event(
            r#"{"type":"Results","is_final":"yes","channel":{"alternatives":[]}}"#
        )
        .is_err());
        assert!(parse_event(r#"{"type":"Results","is_final":true,"channel":{"altern"#).is_err());
        assert!(parse_event(
            r#"{"type":"Results","is_final":true,"start":"0.0","channel":{"alternatives":[]}}"#
        )
        .is_ok_and(|e| e.is_some()));
    }
}
