//! Property tests over every parser of outside input: the media protocol, the CSV importer,
//! Exotel's status callback (and its ids) and phone normalisation. Whatever the bytes, each
//! answers with a value or an error value — never a panic — and what it accepts holds its
//! invariants.
//!
//! Bounded for CI: a fixed case count per property and a fixed seed, so a run is fast and
//! repeatable; `PROPTEST_CASES` raises the count for a longer hunt on a developer's machine.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Value};

use crate::domain::{CallDuration, Phone};
use crate::leads::csv_import::parse_leads;
use crate::media::protocol::{self, Inbound};
use crate::telephony::exotel::{CallRef, StatusCallback};

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(384),
        rng_seed: RngSeed::Fixed(0x9_2026),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Any JSON value, a few levels deep, with numbers at the edges of every range.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("10000000000000".to_string()),
            Just("-1".to_string()),
            Just("c=1;l=2;s=3;a=1".to_string()),
            ".{0,24}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Keys the parsers look for, and some they do not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "event",
            "start",
            "media",
            "payload",
            "stream_sid",
            "streamSid",
            "call_sid",
            "callSid",
            "media_format",
            "mediaFormat",
            "sample_rate",
            "custom_parameters",
            "dtmf",
            "digit",
            "mark",
            "name",
            "stop",
            "reason",
            "CallSid",
            "Status",
            "ConversationDuration",
            "CustomField",
            "RecordingUrl",
            "EventType",
        ])
        .prop_map(String::from),
        "[a-zA-Z_]{1,10}",
    ]
}

/// An object shaped like a media event: a known `event` and arbitrary parts.
fn media_event() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "connected",
            "start",
            "media",
            "dtmf",
            "mark",
            "stop",
            "x",
        ]),
        prop::collection::vec((key(), json_value()), 0..6),
    )
        .prop_map(|(event, parts)| {
            let mut obj: Map<String, Value> = parts.into_iter().collect();
            obj.insert("event".into(), Value::from(event));
            Value::Object(obj)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn media_frames_never_panic(frame in ".{0,300}") {
        let _ = protocol::parse(&frame);
    }

    #[test]
    fn media_events_parse_or_say_why(event in media_event()) {
        match protocol::parse(&event.to_string()) {
            Ok(Inbound::Media { payload }) => {
                // A bad payload is an error value too (counted by the socket), never a panic.
                let _ = crate::media::audio::pcm_from_base64(&payload);
            }
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn csv_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_leads(&bytes);
    }

    #[test]
    fn csv_rows_are_each_accounted_for(
        rows in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![".{0,16}", "[0-9 +()-]{0,16}", Just("\"".to_string()), Just("=1+2".to_string())],
                0..5,
            ),
            0..20,
        )
    ) {
        let mut text = String::from("name,phone,email\n");
        for row in &rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        if let Ok(parsed) = parse_leads(text.as_bytes()) {
            let counted = parsed.leads.len() + parsed.rejected.len() + parsed.duplicates_in_file;
            prop_assert!(counted <= rows.len().max(1) + text.matches('\r').count());
            for (_, lead) in &parsed.leads {
                prop_assert!(Phone::parse(&lead.phone).is_ok(), "{}", lead.phone);
            }
            for rejected in &parsed.rejected {
                prop_assert!(rejected.row >= 2 && !rejected.reason.is_empty());
            }
        }
    }

    #[test]
    fn status_callbacks_from_json(body in json_value()) {
        check_callback(StatusCallback::from_json(&body))?;
    }

    #[test]
    fn status_callbacks_from_form(
        fields in prop::collection::hash_map(
            key(),
            prop_oneof![".{0,20}", any::<i64>().prop_map(|n| n.to_string()), Just("99999999999999999999".to_string())],
            0..8,
        )
    ) {
        let fields: HashMap<String, String> = fields;
        check_callback(StatusCallback::from_fields(&fields))?;
    }

    #[test]
    fn call_refs_decode_or_not(raw in ".{0,64}") {
        if let Some(call) = CallRef::decode(&raw) {
            prop_assert_eq!(CallRef::decode(&call.encode()), Some(call));
        }
    }

    #[test]
    fn durations_are_always_in_range(seconds in any::<i64>()) {
        let d = CallDuration::clamped(seconds);
        prop_assert!((0..=CallDuration::MAX_SECONDS).contains(&d.seconds()));
        prop_assert!(chrono::Utc::now().checked_sub_signed(d.as_chrono()).is_some());
    }

    #[test]
    fn phones_normalise_or_say_why(raw in prop_oneof![".{0,24}", "[+0-9 ()./-]{0,20}"]) {
        match Phone::parse(&raw) {
            Ok(phone) => {
                let e164 = phone.as_str();
                prop_assert!(e164.starts_with('+'), "{}", e164);
                prop_assert!((9..=16).contains(&e164.len()), "{}", e164);
                prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{}", e164);
                // Normalising is idempotent: the stored form reads back as itself.
                prop_assert_eq!(Phone::parse(e164), Ok(phone.clone()));
            }
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }
}

/// What a parsed callback may hold: a sid, and a duration within range.
fn check_callback(parsed: Result<StatusCallback, String>) -> Result<(), TestCaseError> {
    match parsed {
        Ok(cb) => {
            prop_assert!(!cb.call_sid.trim().is_empty());
            if let Some(d) = cb.duration_seconds {
                prop_assert!((0..=CallDuration::MAX_SECONDS).contains(&d.seconds()));
            }
        }
        Err(field) => prop_assert!(field == "CallSid" || field == "Status", "{}", field),
    }
    Ok(())
}
