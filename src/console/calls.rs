//! One call: its transcript with speakers, times, interruptions and per-turn latency, the facts
//! extracted, the outcome, and the recording playable in the page.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde_json::Value;

use super::campaigns::yes_no;
use super::context::Ctx;
use super::layout::{page, respond, when, Nav};
use super::ConsoleError;
use crate::api::ApiError;
use crate::store::CallDetail;

pub async fn detail(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, ConsoleError> {
    let call = ctx
        .state
        .store
        .call_detail(*id)
        .await?
        .ok_or(ApiError::NotFound("call"))?;
    let body = html! {
        p { a href={"/ui/campaigns/" (call.campaign_id) "#calls"} { "← Campaign" } }
        h1 { "Call #" (call.call_id) " with " (call.lead_name) }
        div.grid {
            div.stat { b #call-status { (call.status) } span { "status" } }
            div.stat { b #call-outcome { (call.final_outcome.as_deref().unwrap_or("—")) } span { "outcome" } }
            div.stat { b { (yes_no(call.lead_qualified)) } span { "qualified" } }
            div.stat { b { (call.duration_seconds.map_or("—".into(), |s| format!("{s} s"))) } span { "length" } }
            div.stat { b { (call.attempt_number.map_or("—".into(), |n| n.to_string())) } span { "attempt" } }
        }
        p.muted {
            "Placed " (when(&call.created_at))
            @if let Some(t) = &call.answered_at { " · answered " (when(t)) }
            @if let Some(t) = &call.ended_at { " · ended " (when(t)) }
            " · " (call.phone)
        }
        (recording(&call))
        h2 { "Facts" }
        (facts(call.extracted_data.as_ref().map(|j| &j.0)))
        h2 { "Transcript" }
        (transcript(call.transcript.as_ref().map(|j| &j.0)))
    };
    Ok(respond(page(
        &ctx,
        &format!("Call #{}", call.call_id),
        Nav::Campaigns,
        body,
    )))
}

fn recording(call: &CallDetail) -> Markup {
    let exotel = call
        .recording_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    html! {
        h2 { "Recording" }
        @if call.recording_file.is_some() {
            audio #recording controls preload="metadata" src={"/calls/" (call.call_id) "/recording"} {
                a href={"/calls/" (call.call_id) "/recording"} { "Download the recording" }
            }
        } @else {
            p.muted { "The runtime has no recording of this call." }
        }
        @if let Some(url) = exotel {
            p { a href=(url) rel="noreferrer" { "Exotel's recording" } " (opens at Exotel)" }
        }
    }
}

fn facts(data: Option<&Value>) -> Markup {
    let entries = data.and_then(Value::as_object).filter(|o| !o.is_empty());
    html! {
        @match entries {
            None => p.muted { "None collected." },
            Some(entries) => dl.facts #facts {
                @for (name, value) in entries {
                    dt { (name) }
                    dd { (value.as_str().map_or_else(|| value.to_string(), str::to_string)) }
                }
            },
        }
    }
}

/// The saved transcript: `[{speaker: "ai"|"user", text, timestamp, interrupted, latency?}]`.
pub fn transcript(turns: Option<&Value>) -> Markup {
    let turns = turns.and_then(Value::as_array).cloned().unwrap_or_default();
    html! {
        @if turns.is_empty() {
            p.muted { "No conversation." }
        } @else {
            ol.transcript #transcript {
                @for turn in &turns { (turn_item(turn)) }
            }
        }
    }
}

pub fn turn_item(turn: &Value) -> Markup {
    let speaker = turn["speaker"].as_str().unwrap_or("?");
    let who = if speaker == "ai" { "Agent" } else { "Caller" };
    let latency = turn["latency"]["first_frame_ms"].as_u64();
    html! {
        li class=(if speaker == "ai" { "ai" } else { "user" }) {
            div.meta {
                strong { (who) }
                @if let Some(t) = turn["timestamp"].as_str() { " · " (t.get(11..19).unwrap_or(t)) }
                @if let Some(ms) = latency { " · answered in " (ms) " ms" }
                @if turn["interrupted"].as_bool() == Some(true) {
                    " · " span.interrupted { "interrupted" }
                }
            }
            (turn["text"].as_str().unwrap_or_default())
        }
    }
}
