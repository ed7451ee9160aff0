//! A campaign's analytics as charts: outcomes, answer rate by hour of day (in the campaign's
//! time zone), the attempts histogram and the distribution of answer latency, with the JSON
//! and CSV exports one click away.

use actix_web::{web, HttpResponse};
use chrono::Timelike;
use chrono_tz::Tz;
use maud::{html, Markup};
use serde_json::Value;

use super::charts::{bar_chart, Bar};
use super::context::Ctx;
use super::layout::{page, percent, respond, Nav};
use super::ConsoleError;
use crate::store::{CallPoint, Count};

/// The charts read at most this many of the latest calls and conversations, so the page stays
/// quick on a campaign of 100k calls; the totals above them count everything.
const SAMPLE: i64 = 5_000;
/// Transcripts are large: the latency chart reads the latest 500 conversations.
const TRANSCRIPT_SAMPLE: i64 = 500;
/// Latency buckets, in milliseconds (upper bounds; the last is open).
const LATENCY_BUCKETS: [u64; 7] = [500, 750, 1_000, 1_500, 2_000, 3_000, 5_000];

pub async fn page_view(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, ConsoleError> {
    let id = id.into_inner();
    let store = &ctx.state.store;
    let campaign = store.campaign(id).await?;
    let figures = store.campaign_analytics(id).await?;
    let points = store.call_points(id, SAMPLE).await?;
    let transcripts = store.recent_transcripts(id, TRANSCRIPT_SAMPLE).await?;
    let tz: Tz = campaign.timezone.parse().unwrap_or(chrono_tz::UTC);
    let latencies: Vec<u64> = transcripts
        .iter()
        .flat_map(|t| turn_latencies(&t.0))
        .collect();

    let body = html! {
        p { a href={"/ui/campaigns/" (id)} { "← " (campaign.name) } }
        h1 { "Analytics: " (campaign.name) }
        p {
            "Download: "
            a href={"/analytics/campaign/" (id)} { "figures (JSON)" } " · "
            a href={"/exports/calls/" (id)} { "calls (JSON)" } " · "
            a href={"/exports/calls/" (id) "?format=csv"} { "calls (CSV)" }
        }
        div.grid {
            div.stat { b #total-calls { (figures.total_calls) } span { "calls placed" } }
            div.stat { b { (figures.answered_calls) } span { "answered by a person" } }
            div.stat { b { (figures.voicemail_calls) } span { "answered by a machine" } }
            div.stat { b { (percent(figures.answer_rate)) } span { "answer rate" } }
            div.stat { b { (percent(figures.qualification_rate)) } span { "qualified" } }
            div.stat { b { (figures.average_duration_seconds.map_or("—".into(), |s| format!("{s:.0} s"))) } span { "mean length" } }
        }
        h2 { "Outcomes" }
        (counts_table("outcomes", &figures.outcomes))
        (bar_chart("outcomes-chart", "Conversations by outcome", &count_bars(&figures.outcomes)))
        h2 { "Answer rate by hour of day (" (tz.name()) ")" }
        (bar_chart("answer-rate-chart", "Share of calls a person answered, by the hour they were placed",
            &hourly_answer_rate(&points, tz)))
        h2 { "Attempts per lead" }
        (bar_chart("attempts-chart", "Leads by number of call attempts", &count_bars(&figures.attempts_histogram)))
        h2 { "Answer latency" }
        @if latencies.is_empty() {
            p.muted { "No agent turns yet." }
        } @else {
            (bar_chart("latency-chart", "Agent turns by time from the caller's last word to the first audio",
                &latency_bars(&latencies)))
        }
        p.muted { "Charts read the latest " (SAMPLE) " calls (answer rate) and " (TRANSCRIPT_SAMPLE) " conversations (latency) at most." }
    };
    Ok(respond(page(&ctx, "Analytics", Nav::Campaigns, body)))
}

fn counts_table(id: &str, counts: &[Count]) -> Markup {
    html! {
        @if counts.is_empty() {
            p.muted { "None yet." }
        } @else {
            div.table-wrap { table #(id) {
                thead { tr { th scope="col" { "Outcome" } th scope="col" { "Calls" } } }
                tbody { @for c in counts { tr { td { (c.key) } td { (c.count) } } } }
            } }
        }
    }
}

fn count_bars(counts: &[Count]) -> Vec<Bar> {
    counts
        .iter()
        .map(|c| Bar {
            label: c.key.clone(),
            value: c.count as f64,
            caption: c.count.to_string(),
        })
        .collect()
}

/// 24 bars: the share of calls placed in each local hour that a person answered.
pub fn hourly_answer_rate(points: &[CallPoint], tz: Tz) -> Vec<Bar> {
    let mut placed = [0u32; 24];
    let mut answered = [0u32; 24];
    for p in points {
        let hour = p.created_at.with_timezone(&tz).hour() as usize;
        placed[hour] += 1;
        answered[hour] += u32::from(p.answered);
    }
    (0..24)
        .map(|h| {
            let rate = (placed[h] > 0).then(|| f64::from(answered[h]) / f64::from(placed[h]));
            Bar {
                label: format!("{h:02}"),
                value: rate.unwrap_or(0.0),
                caption: rate.map_or(String::new(), |r| format!("{:.0}%", r * 100.0)),
            }
        })
        .collect()
}

/// Each agent turn's time from the end of the caller's speech to its first audio frame.
fn turn_latencies(transcript: &Value) -> Vec<u64> {
    transcript
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|turn| turn["latency"]["first_frame_ms"].as_u64())
        .collect()
}

pub fn latency_bars(latencies: &[u64]) -> Vec<Bar> {
    let mut counts = [0u32; LATENCY_BUCKETS.len() + 1];
    for ms in latencies {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|upper| ms < upper)
            .unwrap_or(LATENCY_BUCKETS.len());
        counts[bucket] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| Bar {
            label: match (
                i.checked_sub(1).map(|j| LATENCY_BUCKETS[j]),
                LATENCY_BUCKETS.get(i),
            ) {
                (None, Some(upper)) => format!("<{upper}"),
                (Some(lower), Some(upper)) => format!("{lower}–{upper}"),
                (Some(lower), None) => format!("≥{lower}"),
                (None, None) => String::new(),
            },
            value: f64::from(*n),
            caption: n.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn answer_rate_is_bucketed_by_the_campaigns_local_hour() {
        let at = |h, m, answered| CallPoint {
            created_at: Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap(),
            answered,
        };
        // 04:40 UTC is 10:10 in Kolkata (+5:30); 04:20 UTC is 09:50.
        let bars = hourly_answer_rate(
            &[at(4, 40, true), at(4, 45, false), at(4, 20, true)],
            chrono_tz::Asia::Kolkata,
        );
        assert_eq!(bars.len(), 24);
        assert_eq!(bars[10].caption, "50%");
        assert_eq!(bars[9].caption, "100%");
        assert_eq!(bars[4].caption, "", "no calls: no rate, not 0%");
    }

    #[test]
    fn latencies_fall_into_their_buckets() {
        let bars = latency_bars(&[100, 499, 500, 999, 4_999, 5_000, 60_000]);
        let counts: Vec<f64> = bars.iter().map(|b| b.value).collect();
        assert_eq!(counts, vec![2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 2.0]);
        assert_eq!(bars[0].label, "<500");
        assert_eq!(bars[1].label, "500–750");
        assert_eq!(bars[7].label, "≥5000");
    }

    #[test]
    fn only_agent_turns_with_latency_count() {
        let transcript = serde_json::json!([
            {"speaker": "ai", "text": "hi"},
            {"speaker": "user", "text": "hello"},
            {"speaker": "ai", "text": "so", "latency": {"first_frame_ms": 900}},
        ]);
        assert_eq!(turn_latencies(&transcript), vec![900]);
    }
}
