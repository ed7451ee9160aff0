//! Two levers of voice-to-voice latency on a live call: the answer asked for before the
//! final (kept only when the final agrees), and the greeting synthesised while the phone
//! rings.

use std::sync::atomic::Ordering;

use serde_json::Value;
use voice_runtime::call::clauses::ClauseSplitter;

use crate::both_backends;
use crate::helpers::Backend;
use crate::live_support::*;

fn answers(c: &Value) -> Vec<Value> {
    c["transcript"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t["speaker"] == "ai" && t["latency"].is_object())
        .collect()
}

/// Speculation is off by default (it did not pay under the realistic profile).
const SPECULATING: &[(&str, &str)] = &[("LLM_SPECULATE", "1")];

/// A recogniser whose final comes a second after the words (so our VAD's silence comes
/// first) and whose interims keep up with the audio.
fn slow_final(live: &LiveApp) {
    live.deepgram.knobs.endpointing(1000, 0, 0, 1000);
}

/// The interims already hold every word when the caller stops: the answer asked for then is
/// the one the caller hears, and the saved turn says so.
async fn an_answer_asked_for_before_the_final_is_kept_when_the_final_agrees(backend: Backend) {
    let live = live_app_with(backend, 8000, SPECULATING).await;
    slow_final(&live);
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    let speculated = answers(&c)
        .iter()
        .filter(|t| t["latency"]["speculated"] == true)
        .count();
    assert!(speculated > 0, "no answer was asked for early: {c}");
}

/// Interims one word behind: the final always has a word the speculation did not, so each
/// speculation is cancelled and the answer asked for again. The caller hears only answers to
/// what they said: no question asked twice, every fact right.
async fn a_final_with_new_words_cancels_the_speculation_unheard(backend: Backend) {
    let live = live_app_with(backend, 8000, SPECULATING).await;
    slow_final(&live);
    live.deepgram.knobs.interim_lag_words(1);
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    assert_eq!(c["extracted_data"]["location"], "Pune", "{c}");
    assert_eq!(c["extracted_data"]["budget"], "80 lakh", "{c}");
    for t in answers(&c) {
        assert_eq!(t["latency"]["speculated"], false, "{t}");
    }
    let heard = live.phone_report().agent_turns;
    let mut asked: Vec<&String> = heard.iter().filter(|t| t.contains('?')).collect();
    let all = asked.len();
    asked.dedup();
    assert_eq!(asked.len(), all, "a question was heard twice: {heard:?}");
}

/// The greeting is synthesised while the phone rings: ready when the media stream starts,
/// and its clauses play from that audio, with no TTS request at pick-up.
async fn the_greeting_is_ready_before_the_callee_picks_up(backend: Backend) {
    let live = live_app_ringing(backend, 8000, 1500, &[]).await;
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    let greeting = "Hi Lead 0, Asha here. Got a minute?";
    assert_eq!(c["transcript"][0]["text"], greeting, "{c}");
    let greetings = &live.e.app.state.engine.greetings;
    let counts = greetings.counts();
    assert_eq!(counts.ready_at_start.load(Ordering::Relaxed), 1);
    assert_eq!(
        counts.clauses_played.load(Ordering::Relaxed),
        ClauseSplitter::whole(greeting).len() as u64
    );
    assert!(greetings.is_empty(), "the call's greeting was not let go");
    let heard = live.phone_report().agent_turns;
    assert!(heard[0].to_lowercase().contains("asha here"), "{heard:?}");
}

/// `GREETING_AT_DIAL=0`: nothing is prepared; the greeting is synthesised at pick-up. (And
/// with the defaults no answer is speculative.)
async fn without_greeting_at_dial_the_greeting_is_synthesised_live(backend: Backend) {
    let live = live_app_ringing(backend, 8000, 500, &[("GREETING_AT_DIAL", "0")]).await;
    let id = live.call(interested()).await;
    let c = live.conversation(id).await.unwrap();
    assert_eq!(c["final_outcome"], "qualified", "{c}");
    // Speculation is off by default too.
    for t in answers(&c) {
        assert_eq!(t["latency"]["speculated"], false, "{t}");
    }
    let counts = live.e.app.state.engine.greetings.counts();
    assert_eq!(counts.ready_at_start.load(Ordering::Relaxed), 0);
    assert_eq!(counts.clauses_played.load(Ordering::Relaxed), 0);
}

both_backends!(
    an_answer_asked_for_before_the_final_is_kept_when_the_final_agrees,
    a_final_with_new_words_cancels_the_speculation_unheard,
    the_greeting_is_ready_before_the_callee_picks_up,
    without_greeting_at_dial_the_greeting_is_synthesised_live,
);
