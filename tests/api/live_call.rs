//! The live call end to end: the simulated Exotel dials, answers, opens our media socket and a
//! persona talks; the fakes transcribe, think and speak through the real clients.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::sandbox::exotel::{DialReply, Outcome, VoiceSetup};
use voice_runtime::sandbox::persona::{Persona, Reply};

use crate::both_backends;
use crate::engine_support::{campaign_with_leads, eventually, leads, phone, start};
use crate::helpers::Backend;
use crate::live_support::*;

fn turns(conversation: &Value) -> Vec<Value> {
    conversation["transcript"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn a_full_qualification_conversation(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    assert_eq!(c["lead_qualified"], true);
    assert_eq!(c["extracted_data"]["property_type"], "2bhk");
    assert_eq!(c["extracted_data"]["location"], "Pune");
    assert_eq!(c["extracted_data"]["budget"], "80 lakh");
    let t = turns(&c);
    assert!(
        t[0]["text"].as_str().unwrap().starts_with("Hi Lead 0"),
        "{c}"
    );
    assert!(
        t.iter()
            .any(|x| x["speaker"] == "user" && x["text"] == "a 2bhk in pune"),
        "{c}"
    );
    assert!(t.iter().all(|x| x["interrupted"] == false), "{c}");
    let answered = t
        .iter()
        .find(|x| x["speaker"] == "ai" && x["latency"].is_object())
        .expect("a turn with latency");
    for key in [
        "final_transcript_ms",
        "llm_first_token_ms",
        "tts_first_byte_ms",
        "first_frame_ms",
        "overhead_tts_to_frame_us",
    ] {
        assert!(
            answered["latency"][key].is_u64(),
            "{key} missing in {answered}"
        );
    }
    let report = live.phone_report();
    assert_eq!(report.clears, 0, "{c}\n{:?}", report.agent_turns);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(
        report.agent_turns.last().unwrap().contains("bye"),
        "{:?}",
        report.agent_turns
    );
    crate::engine_support::eventually(10, "completion", || async {
        crate::engine_support::campaign(&live.e, id).await["status"] == "COMPLETED"
    })
    .await;
    // The call's transcription stream was closed, and no restart opened another.
    crate::engine_support::eventually(10, "the STT stream closes", || async {
        live.deepgram.open_streams() == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        live.deepgram.open_streams(),
        0,
        "an ended call reopened its STT stream"
    );
    // The call shows in the Prometheus metrics (process-wide, so only presence is checked).
    let metrics = live
        .e
        .app
        .client
        .get(live.e.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "voice_calls_total{outcome=\"qualified\"}",
        "voice_turn_latency_seconds_bucket",
        "voice_provider_first_byte_seconds_bucket{provider=\"openai\"",
        "voice_runtime_overhead_seconds_bucket{stage=\"tts_to_frame\"",
        "voice_dials_total{result=\"placed\"}",
        "voice_webhooks_total",
        "voice_db_query_seconds_bucket",
        "voice_live_calls",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from /metrics");
    }
}

async fn barge_in_stops_the_agent_and_is_recorded(backend: Backend) {
    // A first question of several seconds, so the barge-in (700 ms of speech before it
    // counts) lands well inside it however loaded the machine is.
    let playbooks = TestPlaybooks::short_with(&[(
        "question: \"Which property type?\"",
        &format!("question: \"{LONG_QUESTION}\""),
    )]);
    let live = playbooks.live_app(backend, 8000).await;
    // Interims as late as Deepgram's (the first 700 ms after speech starts): the hold
    // pauses the agent on our VAD and the words, once they come, clear it.
    live.deepgram.knobs.endpointing(300, 700, 400, 1000);
    let mut p = interested();
    // Talks over the agent's first question 1.5 s into it, well over a second after their
    // own "yes": an interruption, not the rest of their turn (`continuation`).
    p.replies = vec![say("yes"), Reply::Silence, say("80 lakh")];
    p.barge_in = Some((
        1,
        Duration::from_millis(1500),
        "a 2bhk in pune please".into(),
    ));
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    let report = live.phone_report();
    assert!(report.clears >= 1, "no clear was sent: {c}");
    let cut = turns(&c)
        .into_iter()
        .find(|t| t["interrupted"] == true)
        .unwrap_or_else(|| panic!("no interrupted turn: {c}"));
    assert_eq!(cut["speaker"], "ai");
    assert!(
        cut["text"].as_str().unwrap().len() < LONG_QUESTION.len(),
        "{cut}"
    );
    assert_eq!(c["extracted_data"]["location"], "Pune", "{c}");
}

/// About five seconds of the sandbox voice.
const LONG_QUESTION: &str = "Which property type are you looking for: a flat, a villa or a plot?";

/// Exotel never echoes a `mark`: every agent turn still ends by our own playout clock, and
/// the whole qualification runs as usual.
async fn lost_marks_never_wedge_a_turn(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let mut p = interested();
    p.loses_marks = true;
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    assert_eq!(c["extracted_data"]["budget"], "80 lakh", "{c}");
    assert_eq!(live.phone_report().marks_echoed, 0);
}

async fn a_backchannel_does_not_interrupt(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let mut p = interested();
    p.backchannel = Some(("hmm".into(), Duration::from_millis(600)));
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(live.phone_report().clears, 0);
    assert!(turns(&c).iter().all(|t| t["interrupted"] == false), "{c}");
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

async fn stt_socket_dropped_and_restored(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.deepgram.knobs.drop_after(3500);
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

async fn llm_500_then_success(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.openai.knobs.fail_next(1);
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

async fn tts_timeouts_end_with_an_apology(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let mut p = interested();
    p.replies = vec![say("yes")];
    let knobs = live.elevenlabs.knobs.clone();
    let caller = async {
        // Once the greeting and the cached apology are synthesised, TTS stops answering.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        knobs.hang_next(50);
    };
    let (id, _) = futures::join!(live.call(p), caller);
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "error", "{c}");
    assert!(
        live.phone_report()
            .agent_turns
            .iter()
            .any(|t| t.contains("sorry")),
        "{:?}",
        live.phone_report().agent_turns
    );
}

async fn silence_reprompts_then_hangs_up(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let id = live
        .call(Persona::new(
            "silent",
            vec![Reply::Silence, Reply::Silence, Reply::Silence],
        ))
        .await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "no_response", "{c}");
    assert_eq!(c["lead_qualified"], Value::Null);
    assert!(turns(&c).iter().any(|t| t["text"] == "Still there?"), "{c}");
    assert!(!live.phone_report().caller_hung_up);
}

async fn caller_hangs_up_mid_sentence(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let mut p = Persona::new("hang_up", vec![say("yes")]);
    p.hang_up_during = Some((1, Duration::from_millis(500)));
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    let last = turns(&c).last().cloned().unwrap();
    assert_eq!(last["speaker"], "ai");
    assert_eq!(last["interrupted"], true, "{c}");
    assert_eq!(c["final_outcome"], "hung_up");
    assert!(live.phone_report().caller_hung_up);
}

async fn a_16_khz_socket(backend: Backend) {
    let live = live_app(backend, 16000).await;
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

async fn callback_and_keypad(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let p = Persona::new(
        "callback",
        vec![Reply::Dtmf('1'), say("call me tomorrow at 6")],
    );
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "callback_requested", "{c}");
    assert!(
        turns(&c)
            .iter()
            .any(|t| t["text"].as_str().unwrap_or("").contains("pressed 1")),
        "{c}"
    );
    let leads = crate::engine_support::leads(&live.e, id).await;
    assert_eq!(leads[0]["status"], "SCHEDULED");
    // The first call-back a lead asks for does not use one of its attempts.
    assert_eq!(leads[0]["free_callbacks_used"], 1);
    // Tomorrow (Friday 2026-11-27) 18:00 IST.
    let store = &live.e.app.state.store;
    let (next, _) = store
        .pending_summary(id, voice_runtime::clock::Clock::now(live.e.clock.as_ref()))
        .await
        .unwrap();
    assert_eq!(next.unwrap().to_rfc3339(), "2026-11-27T12:30:00+00:00");
}

/// The callee says "Hello?" as they pick up: the agent waits for it to end, then greets; the
/// greeting is not cut, and the "Hello?" is not a turn the LLM answers.
async fn a_hello_on_pickup_does_not_cut_the_greeting(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let mut p = interested();
    p.says_on_pickup = Some(("Hello?".into(), std::time::Duration::ZERO));
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    let t = turns(&c);
    assert_eq!(t[0]["speaker"], "ai", "{c}");
    assert!(
        t[0]["text"].as_str().unwrap().starts_with("Hi Lead 0"),
        "{c}"
    );
    assert_eq!(t[0]["interrupted"], false, "{c}");
    assert!(
        !t.iter().any(|x| x["speaker"] == "user"
            && x["text"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("hello")),
        "the Hello? became a turn: {c}"
    );
    assert_eq!(live.phone_report().clears, 0, "{c}");
    assert_eq!(c["final_outcome"], "qualified", "{c}");
}

/// A node whose OpenAI key is revoked, and a campaign (not started) of `leads` interested
/// leads, `concurrency` at a time.
async fn with_a_revoked_llm_key(
    backend: Backend,
    vars: &[(&str, &str)],
    leads: usize,
    concurrency: usize,
) -> (LiveApp, i64) {
    let mut vars = vars.to_vec();
    vars.push(("OPENAI_API_KEY", "sk-revoked"));
    let live = live_app_with(backend, 8000, &vars).await;
    let e = &live.e;
    e.sim.set_voice(VoiceSetup {
        voicebot_url: e.app.url("/exotel/voicebot-url?token=test-secret"),
        personas: HashMap::new(),
        default_persona: interested(),
        sample_rate: 8000,
        recordings_dir: None,
        time_limit: Duration::from_secs(90),
        measure: false,
    });
    let settings = json!({"playbook": "test_short", "max_attempts": 1,
        "max_concurrent_calls": concurrency});
    let id = campaign_with_leads(e, leads, settings, |_| vec![Outcome::Answer]).await;
    (live, id)
}

/// A bad OpenAI key (401) is permanent: the first call ends with the apology, outcome
/// `error`, and the campaign pauses naming the provider instead of calling the next leads.
async fn a_bad_llm_key_pauses_the_campaign_after_one_call(backend: Backend) {
    let (live, id) = with_a_revoked_llm_key(backend, &[], 4, 1).await;
    let e = &live.e;
    start(e, id).await;
    eventually(120, "the campaign pauses itself", || async {
        crate::engine_support::campaign(e, id).await["status"] == "PAUSED"
    })
    .await;
    let campaign = crate::engine_support::campaign(e, id).await;
    let reason = campaign["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("openai"), "{campaign}");
    // Paused the moment the provider refused, before the call's apology and save.
    crate::engine_support::eventually(30, "the first call is saved", || async {
        live.conversation(id).await.is_some()
    })
    .await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "error", "{c}");
    // The caller heard the apology (synthesised at call start: no pre-rendered lines here).
    let report = live.phone_report();
    assert!(
        report.agent_turns.iter().any(|t| t.contains("sorry")),
        "{:?}",
        report.agent_turns
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(e.sim.dials().len(), 1, "more leads were called");
}

/// Dials already claimed when the provider refuses wait for their pacing slot; none of them
/// goes out once the campaign has paused itself (they go back to the queue).
async fn a_bad_llm_key_stops_the_dials_already_claimed(backend: Backend) {
    // One dial every 2 s: the other claims are still waiting for their slots when the first
    // call meets the refused key. No poll round comes to notice the saved pause meanwhile.
    let vars = [
        ("EXOTEL_CALLS_PER_MINUTE", "30"),
        ("SCHEDULER_POLL_SECONDS", "600"),
    ];
    let (live, id) = with_a_revoked_llm_key(backend, &vars, 6, 6).await;
    let e = &live.e;
    let started = std::time::Instant::now();
    start(e, id).await;
    eventually(60, "the campaign pauses itself", || async {
        crate::engine_support::campaign(e, id).await["status"] == "PAUSED"
    })
    .await;
    // Only the slots that came before the pause may have dialed; wait past all six.
    let slots_before_pause = 1 + (started.elapsed().as_secs() / 2) as usize;
    tokio::time::sleep(Duration::from_secs(12).saturating_sub(started.elapsed())).await;
    let dials = e.sim.dials().len();
    assert!(
        dials <= slots_before_pause.min(5),
        "{dials} dials, {slots_before_pause} slots before the pause: a claimed dial went out after it"
    );
    let campaign = crate::engine_support::campaign(e, id).await;
    assert!(
        campaign["status_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("openai"),
        "{campaign}"
    );
}

/// The LLM stalls (200, then nothing) on every request: the call does not wait for the
/// client's own deadlines. The turn fails at the first-token deadline, is retried once, then
/// the caller hears the apology and the call ends with `error` — within seconds, measured on
/// the phone from the end of the caller's words to the agent's next audio.
async fn a_stalled_llm_ends_with_the_apology_not_dead_air(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.openai.knobs.hang_next(5);
    // Two first-token deadlines (3.5 s each) and a backoff, with "one moment" between.
    a_stalled_llm_call_ends_in_the_apology(&live, &["sorry"]).await;
}

/// The LLM streams its first token, then stalls on every request: the idle deadline fails
/// the turn, the pre-rendered "one moment" fills the wait, the retry stalls too, and the
/// caller hears the apology: never a silent line until Exotel's time limit.
async fn an_llm_stalling_after_its_first_token_is_not_dead_air(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.openai.knobs.stall_after_first(None);
    a_stalled_llm_call_ends_in_the_apology(&live, &["moment", "sorry"]).await;
}

/// One call with an LLM the test made stall: it ends in `error`, the caller heard `words`, and
/// no wait for the agent came near the old client's 3 × 10 s (a generous bound).
async fn a_stalled_llm_call_ends_in_the_apology(live: &LiveApp, words: &[&str]) {
    let mut p = interested();
    p.replies = vec![say("yes")];
    let id = live.call(p).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "error", "{c}");
    let report = live.phone_report();
    for word in words {
        assert!(
            report.agent_turns.iter().any(|t| t.contains(word)),
            "{word:?} not heard: {:?}",
            report.agent_turns
        );
    }
    let waited = report.health.response_ms.iter().max().copied().unwrap_or(0);
    assert!(
        waited < 12_000,
        "{waited} ms of silence: {:?}",
        report.health.response_ms
    );
}

/// What we send the LLM stays with the provider: the lead's number is never part of it.
async fn the_llm_never_receives_the_phone_number(backend: Backend) {
    let live = live_app(backend, 8000).await;
    live.call(interested()).await;
    let requests = live.openai.requests.all();
    assert!(!requests.is_empty(), "the conversation asked the LLM");
    let national = crate::engine_support::phone(0)
        .trim_start_matches("+91")
        .to_string();
    for request in &requests {
        let text = request.to_string();
        assert!(text.contains("Lead 0"), "the lead's name is there: {text}");
        assert!(
            !text.contains(&national),
            "the phone reached the LLM: {text}"
        );
    }
}

/// A call adopted after its dial answer was unreadable (a cut 200) joins the registry when its
/// conversation starts: `GET /debug/sessions` shows it (the SIGTERM drain waits for what the
/// registry lists), and a terminal callback arriving while its media is live leaves the call's
/// end to the conversation, as for a recorded dial.
async fn an_adopted_call_is_registered_while_its_conversation_runs(backend: Backend) {
    let live = live_app(backend, 8000).await;
    let e = &live.e;
    e.sim.set_voice(VoiceSetup {
        voicebot_url: e.app.url("/exotel/voicebot-url?token=test-secret"),
        personas: HashMap::new(),
        default_persona: crate::process_support::chatty(),
        sample_rate: 8000,
        recordings_dir: None,
        time_limit: Duration::from_secs(90),
        measure: false,
    });
    let id = campaign_with_leads(
        e,
        1,
        json!({"playbook": "test_short", "max_attempts": 1}),
        |_| vec![Outcome::Answer],
    )
    .await;
    e.sim.script_replies(&phone(0), vec![DialReply::CutBody]);
    start(e, id).await;
    eventually(60, "the adopted call's conversation is listed", || async {
        let s = e.app.get_json("/debug/sessions").await;
        s["sessions"].as_array().is_some_and(|a| {
            a.iter()
                .any(|c| c["lead_id"].is_i64() && c["conversation"]["stage"].is_string())
        })
    })
    .await;
    let sid = e.sim.dials()[0].call_sid.clone();
    let listed = e
        .app
        .state
        .engine
        .registry
        .lookup(&sid)
        .expect("registered");
    assert_eq!(listed.campaign_id, id);
    assert_eq!(listed.attempt, 1);
    // Exotel's "completed" arrives while the conversation still runs: it must not close it.
    let answer: Value = e
        .app
        .client
        .post(e.app.url("/webhooks/exotel/call-status?token=test-secret"))
        .form(&[("CallSid", sid.as_str()), ("Status", "completed")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"], "updated", "{answer}");
    let lead = &leads(e, id).await[0];
    assert_eq!(lead["status"], "IN_PROGRESS", "{lead}");
    assert!(
        live.conversation(id).await.is_none(),
        "closed behind the conversation"
    );
}

/// The provider clients are each worker thread's, opened at start and kept warm: a call's
/// turns use connections already open (no TCP or TLS handshake in the caller's first turn),
/// driven by the thread the call runs on. With `PROVIDER_POOL_WARM=0` (a fresh client per
/// call, the old way) each call opens its own. One worker here, so the calls land on the
/// same pool; `every_worker_warms_its_own_pools` covers several. Greetings are rendered at
/// dial (the default) on the main thread's pool: rendered one clause after another, each
/// dial opened a connection that was thrown away, so two calls after the first are counted.
async fn calls_use_the_warm_provider_connections(backend: Backend) {
    for (warm, setting) in [(true, "1"), (false, "0")] {
        let live = live_app_with(
            backend,
            8000,
            &[("PROVIDER_POOL_WARM", setting), ("HTTP_WORKERS", "1")],
        )
        .await;
        let (ai, el) = (&live.openai.knobs, &live.elevenlabs.knobs);
        // The fallback lines are rendered at start with a client of their own.
        let audio = &live.e.app.state.engine.fallback_audio;
        eventually(30, "the fallback lines are ready", || async {
            audio.lines("test_short", None, 8000).is_some()
        })
        .await;
        if warm {
            // The main thread's pool and the worker's.
            eventually(10, "the pools are warmed at start", || async {
                ai.connections_opened() >= 2 && el.connections_opened() >= 2
            })
            .await;
        }
        // A first call may open a second connection for requests that overlap; the next
        // call finds every connection it needs open.
        live.call(interested()).await;
        for call in [2, 3] {
            let before = (ai.connections_opened(), el.connections_opened());
            live.call(interested()).await;
            let opened = (
                ai.connections_opened() - before.0,
                el.connections_opened() - before.1,
            );
            if warm {
                assert_eq!(
                    opened,
                    (0, 0),
                    "a warm pool opened connections for call {call}"
                );
            } else {
                assert!(opened.0 >= 1 && opened.1 >= 1, "call {call}: {opened:?}");
            }
        }
    }
}

/// Each worker thread makes its own provider pools at start and warms them, so no call's
/// LLM or TTS stream is driven by another thread's connection (README, "Provider pools per
/// worker thread").
async fn every_worker_warms_its_own_pools(backend: Backend) {
    let live = live_app_with(backend, 8000, &[("HTTP_WORKERS", "3")]).await;
    let (ai, el) = (&live.openai.knobs, &live.elevenlabs.knobs);
    eventually(10, "every worker's pool is warmed at start", || async {
        ai.connections_opened() >= 4 && el.connections_opened() >= 4
    })
    .await;
    assert_eq!(live.e.app.state.providers.threads(), 3);
    live.call(interested()).await;
    assert_eq!(
        live.e.app.state.providers.threads(),
        3,
        "a call used a pool of a thread that is not a worker"
    );
}

both_backends!(
    calls_use_the_warm_provider_connections,
    every_worker_warms_its_own_pools,
    a_hello_on_pickup_does_not_cut_the_greeting,
    a_bad_llm_key_pauses_the_campaign_after_one_call,
    a_bad_llm_key_stops_the_dials_already_claimed,
    a_stalled_llm_ends_with_the_apology_not_dead_air,
    an_llm_stalling_after_its_first_token_is_not_dead_air,
    an_adopted_call_is_registered_while_its_conversation_runs,
    a_full_qualification_conversation,
    the_llm_never_receives_the_phone_number,
    barge_in_stops_the_agent_and_is_recorded,
    a_backchannel_does_not_interrupt,
    lost_marks_never_wedge_a_turn,
    stt_socket_dropped_and_restored,
    llm_500_then_success,
    tts_timeouts_end_with_an_apology,
    silence_reprompts_then_hangs_up,
    caller_hangs_up_mid_sentence,
    a_16_khz_socket,
    callback_and_keypad,
);
