//! The Exotel media-socket protocol (shared/specs/exotel.md): inbound events parsed liberally
//! (snake or camel case ids, numbers as strings, unknown fields ignored), outbound frames built
//! strictly (snake_case `stream_sid`, whole 20 ms frames).

use serde::Deserialize;
use serde_json::{json, Value};

/// An event Exotel sent us.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Connected,
    Start(StartInfo),
    /// Base64 PCM16 payload, decoded later so a bad payload is counted, not fatal.
    Media {
        payload: String,
    },
    Dtmf {
        digit: String,
    },
    /// A mark we sent has been played.
    Mark {
        name: String,
    },
    Stop {
        reason: Option<String>,
    },
    /// Anything else, by its `event` name.
    Other(String),
}

/// The `start` event: which call this stream belongs to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StartInfo {
    pub stream_sid: String,
    pub call_sid: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub custom_parameters: serde_json::Map<String, Value>,
    pub sample_rate: Option<u32>,
}

/// Why a text frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("no event field")]
    NoEvent,
    #[error("{0} event without {1}")]
    Missing(&'static str, &'static str),
}

/// `field` or its camelCase spelling, as text whether sent as a string or a number.
fn text(obj: &Value, snake: &str, camel: &str) -> Option<String> {
    let v = obj.get(snake).or_else(|| obj.get(camel))?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The shape of a `media` event, read without building a JSON tree: it arrives 10–50 times a
/// second per call, so this path stays allocation-light.
#[derive(Deserialize)]
struct MediaOnly<'a> {
    #[serde(borrow)]
    event: &'a str,
    #[serde(borrow, default)]
    media: Option<MediaPayload<'a>>,
}

#[derive(Deserialize)]
struct MediaPayload<'a> {
    #[serde(borrow, default)]
    payload: Option<std::borrow::Cow<'a, str>>,
}

pub fn parse(frame: &str) -> Result<Inbound, ProtocolError> {
    if let Ok(MediaOnly {
        event: "media",
        media: Some(MediaPayload { payload: Some(p) }),
    }) = serde_json::from_str(frame)
    {
        return Ok(Inbound::Media {
            payload: p.into_owned(),
        });
    }
    let value: Value =
        serde_json::from_str(frame).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or(ProtocolError::NoEvent)?;
    let inbound = match event {
        "connected" => Inbound::Connected,
        "start" => Inbound::Start(parse_start(&value)?),
        "media" => {
            let media = value
                .get("media")
                .ok_or(ProtocolError::Missing("media", "media"))?;
            let payload = text(media, "payload", "payload")
                .ok_or(ProtocolError::Missing("media", "payload"))?;
            Inbound::Media { payload }
        }
        "dtmf" => {
            let dtmf = value.get("dtmf").unwrap_or(&value);
            let digit =
                text(dtmf, "digit", "digit").ok_or(ProtocolError::Missing("dtmf", "digit"))?;
            Inbound::Dtmf { digit }
        }
        "mark" => {
            let mark = value.get("mark").unwrap_or(&value);
            let name = text(mark, "name", "name").ok_or(ProtocolError::Missing("mark", "name"))?;
            Inbound::Mark { name }
        }
        "stop" => {
            let stop = value.get("stop").unwrap_or(&value);
            Inbound::Stop {
                reason: text(stop, "reason", "reason"),
            }
        }
        other => Inbound::Other(other.to_string()),
    };
    Ok(inbound)
}

#[derive(Deserialize, Default)]
struct MediaFormat {
    #[serde(default)]
    sample_rate: Option<Value>,
}

fn parse_start(value: &Value) -> Result<StartInfo, ProtocolError> {
    let start = value.get("start").unwrap_or(value);
    let stream_sid = text(start, "stream_sid", "streamSid")
        .or_else(|| text(value, "stream_sid", "streamSid"))
        .ok_or(ProtocolError::Missing("start", "stream_sid"))?;
    let call_sid =
        text(start, "call_sid", "callSid").ok_or(ProtocolError::Missing("start", "call_sid"))?;
    let format: MediaFormat = start
        .get("media_format")
        .or_else(|| start.get("mediaFormat"))
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default();
    let sample_rate = format.sample_rate.and_then(|v| match v {
        // `as u32` would wrap 4_294_975_296 to 8000; an out-of-range rate is simply unknown.
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    Ok(StartInfo {
        stream_sid,
        call_sid,
        from: text(start, "from", "from"),
        to: text(start, "to", "to"),
        custom_parameters: start
            .get("custom_parameters")
            .or_else(|| start.get("customParameters"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        sample_rate,
    })
}

/// Outbound frames.
pub fn media_frame(stream_sid: &str, payload_b64: &str) -> String {
    json!({"event": "media", "stream_sid": stream_sid, "media": {"payload": payload_b64}})
        .to_string()
}

/// Builds outbound media frames for one stream without a JSON tree per frame: the fixed text
/// around the payload is escaped once, and base64 is written straight into the frame.
#[derive(Debug, Clone)]
pub struct MediaFrameWriter {
    prefix: String,
}

impl MediaFrameWriter {
    pub fn new(stream_sid: &str) -> MediaFrameWriter {
        let sid = serde_json::to_string(stream_sid).unwrap_or_else(|_| "\"\"".into());
        MediaFrameWriter {
            prefix: format!(r#"{{"event":"media","stream_sid":{sid},"media":{{"payload":""#),
        }
    }

    pub fn frame(&self, pcm: &[i16]) -> String {
        use base64::Engine as _;
        let bytes = crate::media::audio::pcm_as_bytes(pcm);
        let mut out = String::with_capacity(self.prefix.len() + bytes.len().div_ceil(3) * 4 + 8);
        out.push_str(&self.prefix);
        base64::engine::general_purpose::STANDARD.encode_string(&bytes, &mut out);
        out.push_str("\"}}");
        out
    }
}

pub fn mark_frame(stream_sid: &str, name: &str) -> String {
    json!({"event": "mark", "stream_sid": stream_sid, "mark": {"name": name}}).to_string()
}

pub fn clear_frame(stream_sid: &str) -> String {
    json!({"event": "clear", "stream_sid": stream_sid}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_in_either_case() {
        let snake = r#"{"event":"start","sequence_number":"1","stream_sid":"S1","start":{"stream_sid":"S1","call_sid":"C1","account_sid":"A","from":"0987","to":"080","custom_parameters":{"ref":"c=1;l=2;s=3;a=1"},"media_format":{"encoding":"raw/slin","sample_rate":"16000","bit_rate":"128kbps"}}}"#;
        let Inbound::Start(s) = parse(snake).unwrap() else {
            panic!()
        };
        assert_eq!(
            (s.stream_sid.as_str(), s.call_sid.as_str(), s.sample_rate),
            ("S1", "C1", Some(16000))
        );
        assert_eq!(s.custom_parameters["ref"], "c=1;l=2;s=3;a=1");
        let camel = r#"{"event":"start","start":{"streamSid":"S2","callSid":"C2","mediaFormat":{"sampleRate":8000}}}"#;
        let Inbound::Start(s) = parse(camel).unwrap() else {
            panic!()
        };
        assert_eq!((s.stream_sid.as_str(), s.call_sid.as_str()), ("S2", "C2"));
    }

    #[test]
    fn other_events_and_errors() {
        assert_eq!(
            parse(r#"{"event":"media","media":{"chunk":2,"timestamp":"40","payload":"AAAA"}}"#)
                .unwrap(),
            Inbound::Media {
                payload: "AAAA".into()
            }
        );
        assert_eq!(
            parse(r#"{"event":"dtmf","dtmf":{"digit":"5","duration":"200"}}"#).unwrap(),
            Inbound::Dtmf { digit: "5".into() }
        );
        assert_eq!(
            parse(r#"{"event":"mark","mark":{"name":"c3"}}"#).unwrap(),
            Inbound::Mark { name: "c3".into() }
        );
        assert_eq!(
            parse(r#"{"event":"stop","stop":{"reason":"callended"}}"#).unwrap(),
            Inbound::Stop {
                reason: Some("callended".into())
            }
        );
        assert_eq!(
            parse(r#"{"event":"weird"}"#).unwrap(),
            Inbound::Other("weird".into())
        );
        assert!(matches!(parse("{nope"), Err(ProtocolError::NotJson(_))));
        assert_eq!(parse(r#"{"media":{}}"#), Err(ProtocolError::NoEvent));
        assert_eq!(
            parse(r#"{"event":"media","media":{}}"#),
            Err(ProtocolError::Missing("media", "payload"))
        );
        assert!(media_frame("S1", "AA").contains("\"stream_sid\":\"S1\""));
        let fast = MediaFrameWriter::new("S\"1").frame(&[0, 1, -1]);
        let v: Value = serde_json::from_str(&fast).unwrap();
        assert_eq!(v["stream_sid"], "S\"1");
        let slow = media_frame("S\"1", &crate::media::audio::pcm_to_base64(&[0, 1, -1]));
        assert_eq!(v, serde_json::from_str::<Value>(&slow).unwrap());
        let fast = MediaFrameWriter::new("S\"1").frame(&[0, 1, -1]);
        let v: Value = serde_json::from_str(&fast).unwrap();
        assert_eq!(v["stream_sid"], "S\"1");
        assert_eq!(
            v,
            serde_json::from_str::<Value>(&media_frame(
                "S\"1",
                &crate::media::audio::pcm_to_base64(&[0, 1, -1])
            ))
            .unwrap()
        );
    }
}
