//! The real provider clients against unkind fakes (shared/specs/real-world.md): a stall after
//! the first token or chunk ends in a `Timeout` within the idle deadline, a stream cut before
//! `[DONE]` is a `Protocol` error, characters split across reads come back exact, odd-length
//! PCM chunks come back as the exact samples, and Deepgram's endpointing waits for silence
//! unless `Finalize` asks for the words now. Every test also checks that the fake's stream
//! was closed afterwards.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use voice_runtime::config::ProviderSettings;
use voice_runtime::media::audio::pcm_to_bytes;
use voice_runtime::providers::deadlines::StreamDeadlines;
use voice_runtime::providers::deepgram::{self, Outgoing, SttEvent};
use voice_runtime::providers::elevenlabs::ElevenLabsClient;
use voice_runtime::providers::error::ProviderErrorKind;
use voice_runtime::providers::openai::{ChatMessage, LlmDelta, OpenAiClient};
use voice_runtime::sandbox::fakes::deepgram::FakeDeepgram;
use voice_runtime::sandbox::fakes::elevenlabs::FakeElevenLabs;
use voice_runtime::sandbox::fakes::openai::FakeOpenAi;
use voice_runtime::sandbox::fakes::Knobs;
use voice_runtime::sandbox::voice_codec;

use crate::engine_support::eventually;

/// Short deadlines, so a stall is seen quickly.
const DEADLINES: StreamDeadlines = StreamDeadlines {
    connect: Duration::from_secs(2),
    first_byte: Duration::from_secs(2),
    idle: Duration::from_millis(600),
    total: Duration::from_secs(10),
};

pub(crate) fn settings(base_url: &str) -> ProviderSettings {
    ProviderSettings {
        api_key: Some("test-key".into()),
        base_url: base_url.into(),
        model: "fake".into(),
        voice_id: None,
        deadlines: DEADLINES,
    }
}

/// A request the fake brain answers with the first fact's question: the tool's description.
fn asking(question: &str) -> (Vec<ChatMessage>, serde_json::Value) {
    let tools = json!([{"type": "function", "function": {"name": "record_lead_details", "parameters": {"type": "object", "properties": {
        "budget": {"type": "string", "description": format!("{question} (required)")}
    }}}}]);
    (vec![ChatMessage::text("user", "hello")], tools)
}

async fn generate(
    ai: &FakeOpenAi,
    question: &str,
) -> Vec<Result<LlmDelta, voice_runtime::providers::error::ProviderError>> {
    let client = OpenAiClient::new(settings(&ai.base_url));
    let (messages, tools) = asking(question);
    match client.stream(&messages, &tools).await {
        Ok(stream) => stream.collect().await,
        Err(e) => vec![Err(e)],
    }
}

fn text_of(items: &[Result<LlmDelta, voice_runtime::providers::error::ProviderError>]) -> String {
    items
        .iter()
        .filter_map(|i| match i {
            Ok(LlmDelta::Text(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

async fn no_stream_left(knobs: &Knobs) {
    eventually(20, "the fake's streams close", || async {
        knobs.open_streams() == 0
    })
    .await;
}

#[actix_rt::test]
async fn llm_stall_after_the_first_token_is_a_timeout() {
    let ai = FakeOpenAi::start(0).unwrap();
    // Longer than the idle deadline; when it ends, the fake finds the client gone (a server
    // notices a closed connection only when it writes, so a stall "for ever" would keep the
    // fake's side open).
    ai.knobs.stall_after_first(Some(Duration::from_secs(3)));
    let items = generate(&ai, "What budget?").await;
    assert_eq!(text_of(&items), "What", "{items:?}");
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind, ProviderErrorKind::Timeout, "{last}");
    no_stream_left(&ai.knobs).await;
}

#[actix_rt::test]
async fn llm_stream_without_done_is_a_protocol_error() {
    let ai = FakeOpenAi::start(0).unwrap();
    ai.knobs.omit_done(true);
    let items = generate(&ai, "What budget?").await;
    assert_eq!(text_of(&items), "What budget?");
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind, ProviderErrorKind::Protocol, "{last}");
}

#[actix_rt::test]
async fn llm_characters_split_across_reads_come_back_exact() {
    let ai = FakeOpenAi::start(0).unwrap();
    ai.knobs.odd_chunks(true);
    let question = "आपका बजट कितना है, ₹50 लाख?";
    let items = generate(&ai, question).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(text_of(&items), question);
    assert!(!text_of(&items).contains('\u{FFFD}'));
}

#[actix_rt::test]
async fn llm_permanent_errors_are_reported_as_such() {
    let ai = FakeOpenAi::start(0).unwrap();
    let mut s = settings(&ai.base_url);
    s.api_key = Some(String::new());
    let client = OpenAiClient::new(s);
    let (messages, tools) = asking("What budget?");
    let e = client.stream(&messages, &tools).await.err().unwrap();
    assert_eq!(e.kind, ProviderErrorKind::Auth, "{e}");
    assert!(e.is_permanent());
}

async fn speak(
    el: &FakeElevenLabs,
    text: &str,
) -> Vec<Result<Vec<i16>, voice_runtime::providers::error::ProviderError>> {
    let client = ElevenLabsClient::new(settings(&el.base_url));
    match client.speak(text, None, 8000, "en-IN").await {
        Ok(stream) => stream.collect().await,
        Err(e) => vec![Err(e)],
    }
}

#[actix_rt::test]
async fn tts_odd_length_chunks_give_the_exact_samples() {
    let el = FakeElevenLabs::start(0).unwrap();
    el.knobs.odd_chunks(true);
    let text = "a 2bhk in pune, please";
    let items = speak(&el, text).await;
    let pcm: Vec<i16> = items.into_iter().flat_map(Result::unwrap).collect();
    assert_eq!(pcm, voice_codec::encode(text, 8000));
}

#[actix_rt::test]
async fn tts_stall_mid_stream_is_a_timeout() {
    let el = FakeElevenLabs::start(0).unwrap();
    el.knobs.stall_after_first(Some(Duration::from_secs(3)));
    let items = speak(&el, "a long clause that stalls after its first chunk").await;
    assert!(items[0].is_ok(), "{items:?}");
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind, ProviderErrorKind::Timeout, "{last}");
    no_stream_left(&el.knobs).await;
}

/// Sends `text` spoken in the sandbox voice then `silence_ms` of silence, in 20 ms frames.
pub(crate) async fn talk(conn: &deepgram::Connection, text: &str, silence_ms: usize) {
    let mut audio = voice_codec::encode(text, 8000);
    audio.extend(std::iter::repeat_n(0i16, 8 * silence_ms));
    for frame in audio.chunks(160) {
        conn.outgoing
            .send(Outgoing::Audio(pcm_to_bytes(frame).into()))
            .await
            .unwrap();
    }
}

/// Events until `until` matches, or `None` if none comes within `wait`.
pub(crate) async fn next_final(
    conn: &mut deepgram::Connection,
    wait: Duration,
) -> Option<SttEvent> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, conn.events.recv()).await {
            Ok(Some(e @ SttEvent::Final { .. })) => return Some(e),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

#[actix_rt::test]
async fn stt_endpointing_waits_for_silence_and_finalize_cuts_it_short() {
    let dg = FakeDeepgram::start(0).await.unwrap();
    // Endpointing far longer than the silence we send: only Finalize can give the final.
    dg.knobs.endpointing(5000, 600, 300, 1000);
    let s = settings(&dg.url);
    let mut conn = deepgram::connect(&s, 8000, "en-IN").await.unwrap();
    talk(&conn, "hello there", 400).await;
    assert_eq!(
        next_final(&mut conn, Duration::from_millis(800)).await,
        None
    );
    conn.outgoing.send(Outgoing::Finalize).await.unwrap();
    assert_eq!(
        next_final(&mut conn, Duration::from_secs(5)).await,
        Some(SttEvent::Final {
            text: "hello there".into(),
            speech_final: false,
            from_finalize: true,
        })
    );
    // With enough silence, the final is a speech_final, followed by UtteranceEnd.
    talk(&conn, "yes", 5200).await;
    assert_eq!(
        next_final(&mut conn, Duration::from_secs(5)).await,
        Some(SttEvent::Final {
            text: "yes".into(),
            speech_final: true,
            from_finalize: false,
        })
    );
    talk(&conn, "", 1200).await;
    let mut utterance_end = false;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(2), conn.events.recv()).await {
        if e == SttEvent::UtteranceEnd {
            utterance_end = true;
            break;
        }
    }
    assert!(utterance_end, "no UtteranceEnd");
    conn.outgoing.send(Outgoing::Close).await.unwrap();
    drop(conn);
    no_stream_left(&dg.knobs).await;
}

#[actix_rt::test]
async fn stt_interims_come_late_as_in_reality() {
    let dg = FakeDeepgram::start(0).await.unwrap();
    dg.knobs.endpointing(300, 700, 400, 1000);
    let mut conn = deepgram::connect(&settings(&dg.url), 8000, "en-IN")
        .await
        .unwrap();
    // "haan ji" lasts 9 symbols × 70 ms = 630 ms: over before a 700 ms first interim.
    talk(&conn, "haan ji", 600).await;
    let mut interims = 0;
    let mut final_text = None;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(3), conn.events.recv()).await {
        match e {
            SttEvent::Interim(_) => interims += 1,
            SttEvent::Final { text, .. } => {
                final_text = Some(text);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(interims, 0, "an interim before 700 ms of speech");
    assert_eq!(final_text.as_deref(), Some("haan ji"));
}

/// A final a test holds (`Knobs::hold_finals_containing`) comes that much later, and the
/// results after it wait behind it (one stream keeps its order); other finals are not held.
#[actix_rt::test]
async fn stt_a_held_final_comes_late_and_keeps_its_place() {
    let dg = FakeDeepgram::start(0).await.unwrap();
    dg.knobs
        .endpointing(300, 700, 400, 1000)
        .hold_finals_containing("Budget", Duration::from_millis(700));
    let mut conn = deepgram::connect(&settings(&dg.url), 8000, "en-IN")
        .await
        .unwrap();
    let final_of = |text: &str| SttEvent::Final {
        text: text.into(),
        speech_final: true,
        from_finalize: false,
    };
    // The audio goes faster than real time: an unheld final comes at once.
    talk(&conn, "yes", 500).await;
    assert_eq!(
        next_final(&mut conn, Duration::from_millis(500)).await,
        Some(final_of("yes"))
    );
    let spoken = std::time::Instant::now();
    talk(&conn, "my budget is", 500).await;
    talk(&conn, "80 lakh", 500).await;
    assert_eq!(
        next_final(&mut conn, Duration::from_secs(3)).await,
        Some(final_of("my budget is"))
    );
    assert!(spoken.elapsed() >= Duration::from_millis(700));
    assert_eq!(
        next_final(&mut conn, Duration::from_secs(1)).await,
        Some(final_of("80 lakh"))
    );
    conn.outgoing.send(Outgoing::Close).await.unwrap();
    drop(conn);
    no_stream_left(&dg.knobs).await;
}

/// Stands in for the call: collects what the `SttActor` reports.
#[derive(Default, Clone)]
struct FakeCall {
    failures: std::sync::Arc<std::sync::Mutex<Vec<voice_runtime::providers::error::ProviderError>>>,
}

impl actix::Actor for FakeCall {
    type Context = actix::Context<Self>;
}

impl actix::Handler<voice_runtime::call::messages::FromStt> for FakeCall {
    type Result = ();
    fn handle(&mut self, _: voice_runtime::call::messages::FromStt, _: &mut Self::Context) {}
}

impl actix::Handler<voice_runtime::call::messages::ChildFailed> for FakeCall {
    type Result = ();
    fn handle(&mut self, msg: voice_runtime::call::messages::ChildFailed, _: &mut Self::Context) {
        self.failures.lock().unwrap().push(msg.error);
    }
}

/// Deepgram stops answering while we send audio: the results watchdog fails the stream with a
/// `Timeout` and the restarted actor opens a new one; `SttClose` then closes it for good.
#[actix_rt::test]
async fn stt_watchdog_restarts_a_stream_that_stops_answering() {
    use actix::{Actor, Supervisor};
    use voice_runtime::call::messages::{SttAudio, SttClose};
    use voice_runtime::call::stt_actor::SttActor;

    let dg = FakeDeepgram::start(0).await.unwrap();
    dg.knobs.mute_after(300);
    let mut s = settings(&dg.url);
    s.deadlines.idle = Duration::from_millis(1500);
    let call = FakeCall::default();
    let failures = call.failures.clone();
    let call_addr = call.start();
    let (to_call, fail_to) = (call_addr.clone().recipient(), call_addr.clone().recipient());
    let stt = Supervisor::start(move |_| {
        SttActor::new(
            s,
            8000,
            "en-IN".into(),
            to_call,
            fail_to,
            tracing::Span::none(),
        )
    });
    // Silence, in real time: Deepgram answers roughly every second while it hears audio.
    let silence = vec![0i16; 160];
    let mut timed_out = false;
    for _ in 0..400 {
        stt.do_send(SttAudio(silence.clone()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        timed_out = failures
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.kind == ProviderErrorKind::Timeout);
        if timed_out && dg.knobs.opened_streams_total() >= 2 {
            break;
        }
    }
    assert!(
        timed_out,
        "no watchdog timeout: {:?}",
        failures.lock().unwrap()
    );
    assert!(
        dg.knobs.opened_streams_total() >= 2,
        "the stream was not reopened"
    );
    stt.do_send(SttClose);
    no_stream_left(&dg.knobs).await;
    // Closed for good: more audio, and time for any scheduled reconnect, open nothing.
    let opened = dg.knobs.opened_streams_total();
    for _ in 0..50 {
        stt.do_send(SttAudio(silence.clone()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dg.knobs.opened_streams_total(), opened);
    assert_eq!(dg.knobs.open_streams(), 0);
}

/// The realistic profile: Deepgram ends an utterance after the silence the request asked for
/// (`endpointing=300`, as the runtime asks) and answers `Finalize` with the words so far; the
/// LLM's first token and TTS's first byte come after a round trip and the model's own time.
#[actix_rt::test]
async fn the_realistic_profile_follows_the_request_and_takes_its_time() {
    use voice_runtime::sandbox::fakes::ProfileName;
    // A slow tail must not trip a short test deadline: these are the client's own.
    let relaxed = |url: &str| ProviderSettings {
        deadlines: StreamDeadlines {
            first_byte: Duration::from_secs(15),
            idle: Duration::from_secs(5),
            total: Duration::from_secs(30),
            ..DEADLINES
        },
        ..settings(url)
    };
    let dg = FakeDeepgram::start(0).await.unwrap();
    dg.knobs.profile(ProfileName::Realistic);
    let mut conn = deepgram::connect(&relaxed(&dg.url), 8000, "en-IN")
        .await
        .unwrap();
    // 150 ms of silence is shorter than the endpointing: no final yet.
    talk(&conn, "hello there", 150).await;
    assert_eq!(
        next_final(&mut conn, Duration::from_millis(800)).await,
        None
    );
    for _ in 0..15 {
        let silence = pcm_to_bytes(&[0i16; 160]);
        conn.outgoing
            .send(Outgoing::Audio(silence.into()))
            .await
            .unwrap();
    }
    assert_eq!(
        next_final(&mut conn, Duration::from_secs(5)).await,
        Some(SttEvent::Final {
            text: "hello there".into(),
            speech_final: true,
            from_finalize: false,
        })
    );
    talk(&conn, "yes", 100).await;
    conn.outgoing.send(Outgoing::Finalize).await.unwrap();
    assert_eq!(
        next_final(&mut conn, Duration::from_secs(5)).await,
        Some(SttEvent::Final {
            text: "yes".into(),
            speech_final: false,
            from_finalize: true,
        })
    );

    let ai = FakeOpenAi::start(0).unwrap();
    ai.knobs.profile(ProfileName::Realistic);
    let client = OpenAiClient::new(relaxed(&ai.base_url));
    let (messages, tools) = asking("What budget?");
    let asked = std::time::Instant::now();
    let mut stream = Box::pin(client.stream(&messages, &tools).await.unwrap());
    let first = stream.next().await;
    // The round trip alone is rarely under 100 ms (median 180 ms): a floor, not a target.
    assert!(asked.elapsed() >= Duration::from_millis(100), "{first:?}");
    let rest: Vec<_> = stream.collect().await;
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");

    let el = FakeElevenLabs::start(0).unwrap();
    el.knobs.profile(ProfileName::Realistic);
    let client = ElevenLabsClient::new(relaxed(&el.base_url));
    let asked = std::time::Instant::now();
    let stream = client.speak("a 2bhk in pune", None, 8000, "en-IN").await;
    let pcm: Vec<i16> = stream
        .unwrap()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    assert!(asked.elapsed() >= Duration::from_millis(100));
    assert_eq!(pcm, voice_codec::encode("a 2bhk in pune", 8000));
}
