//! `GET /exports/calls/{id}[?format=csv]`: every call of a campaign with its transcript,
//! streamed page by page so memory stays flat however large the campaign.

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures::stream;

use super::error::ErrorBody;
use super::extract::QueryParams;
use super::spreadsheet_cell::neutralised;
use super::{ApiError, AppState};
use crate::store::{ExportedCall, Store};

const PAGE_ROWS: i64 = 500;

/// `?format=`: how the export is written.
#[derive(Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON array of calls (the default).
    Json,
    /// One row per call, the transcript as `speaker: text` lines; every cell made safe to
    /// open in a spreadsheet.
    Csv,
}

/// Where the stream is: the last id sent, and whether the opening bytes went out.
struct Cursor {
    store: Store,
    campaign_id: i64,
    after: i64,
    started: bool,
    finished: bool,
    format: ExportFormat,
}

/// Export a campaign's calls
///
/// Every call with its lead, outcome, facts and transcript, streamed page by page. A database
/// error midway ends the body early (the status line is already out).
#[utoipa::path(
    get,
    path = "/exports/calls/{id}",
    operation_id = "export_calls",
    tag = "exports",
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("format" = Option<ExportFormat>, Query, description = "`json` (default) or `csv`"),
    ),
    responses(
        (status = 200, description = "The calls, in id order",
            content(
                (Vec<ExportedCall> = "application/json"),
                (String = "text/csv"),
            ),
            headers(("Content-Disposition" = String, description = "`inline; filename=\"campaign-{id}-calls.json\"` (or `.csv`)"))),
        (status = 400, description = "A non-integer id", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "`format` is neither json nor csv", body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody),
    ),
)]
pub async fn calls(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let campaign_id = id.into_inner();
    let format = match QueryParams::from_request(&req)?
        .get::<String>("format")?
        .as_deref()
    {
        None | Some("json") => ExportFormat::Json,
        Some("csv") => ExportFormat::Csv,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("format must be json or csv, not {other:?}"),
            ))
        }
    };
    state.store.campaign(campaign_id).await?;
    let cursor = Cursor {
        store: state.store.clone(),
        campaign_id,
        after: 0,
        started: false,
        finished: false,
        format,
    };
    let body = stream::unfold(cursor, |mut cursor| async move {
        let chunk = next_chunk(&mut cursor).await?;
        Some((Ok::<Bytes, actix_web::Error>(chunk), cursor))
    });
    let (content_type, file) = match format {
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"campaign-{campaign_id}-calls.{file}\""),
        ))
        .streaming(body))
}

/// The next piece of the body, or `None` when everything was sent. A database error midway
/// ends the body early (the status line is already out); it is logged.
async fn next_chunk(cursor: &mut Cursor) -> Option<Bytes> {
    if cursor.finished {
        return None;
    }
    let page = match cursor
        .store
        .export_calls_page(cursor.campaign_id, cursor.after, PAGE_ROWS)
        .await
    {
        Ok(page) => page,
        Err(e) => {
            tracing::error!(campaign_id = cursor.campaign_id, error = %e, "export stopped early");
            cursor.finished = true;
            return None;
        }
    };
    let first = !cursor.started;
    cursor.started = true;
    cursor.finished = (page.len() as i64) < PAGE_ROWS;
    if let Some(last) = page.last() {
        cursor.after = last.call_id;
    }
    let chunk = match cursor.format {
        ExportFormat::Json => json_chunk(&page, first, cursor.finished),
        ExportFormat::Csv => csv_chunk(&page, first),
    };
    Some(Bytes::from(chunk))
}

fn json_chunk(page: &[ExportedCall], first: bool, last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(page.len() * 512);
    out.push(if first { b'[' } else { b',' });
    for (i, call) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Serialising our own struct cannot fail.
        serde_json::to_writer(&mut out, call).unwrap_or_default();
    }
    if page.is_empty() && !first {
        out.pop();
    }
    if last {
        out.push(b']');
    }
    out
}

const CSV_HEADER: [&str; 16] = [
    "call_id",
    "call_sid",
    "lead_id",
    "lead_name",
    "phone",
    "attempt_number",
    "status",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "final_outcome",
    "lead_qualified",
    "extracted_data",
    "transcript",
    "recording_url",
    "recording",
];

fn csv_chunk(page: &[ExportedCall], first: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(page.len() * 512));
    if first {
        let _ = writer.write_record(CSV_HEADER);
    }
    let opt = |v: Option<String>| v.unwrap_or_default();
    for c in page {
        let row = [
            c.call_id.to_string(),
            c.call_sid.clone(),
            c.lead_id.to_string(),
            c.lead_name.clone(),
            c.phone.clone(),
            opt(c.attempt_number.map(|n| n.to_string())),
            c.status.clone(),
            opt(c.answered_at.map(|t| t.to_rfc3339())),
            opt(c.ended_at.map(|t| t.to_rfc3339())),
            opt(c.duration_seconds.map(|n| n.to_string())),
            opt(c.final_outcome.clone()),
            opt(c.lead_qualified.map(|b| b.to_string())),
            opt(c.extracted_data.as_ref().map(|j| j.0.to_string())),
            opt(c.transcript.as_ref().map(|j| readable_transcript(&j.0))),
            opt(c.recording_url.clone()),
            opt(c.recording.clone()),
        ];
        // Every cell, not just the free-text ones: a phone (`+91…`) is a formula to a spreadsheet.
        let _ = writer.write_record(row.map(neutralised));
    }
    writer.into_inner().unwrap_or_default()
}

/// `ai: Hello…` / `user: Hi` lines, readable in a spreadsheet cell.
fn readable_transcript(turns: &serde_json::Value) -> String {
    let Some(turns) = turns.as_array() else {
        return String::new();
    };
    turns
        .iter()
        .map(|t| {
            let speaker = t.get("speaker").and_then(|s| s.as_str()).unwrap_or("?");
            let text = t.get("text").and_then(|s| s.as_str()).unwrap_or("");
            let cut = if t.get("interrupted").and_then(|b| b.as_bool()) == Some(true) {
                " […]"
            } else {
                ""
            };
            format!("{speaker}: {text}{cut}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_reads_as_lines() {
        let t = serde_json::json!([
            {"speaker": "ai", "text": "Hello", "interrupted": true},
            {"speaker": "user", "text": "Hi"}
        ]);
        assert_eq!(readable_transcript(&t), "ai: Hello […]\nuser: Hi");
    }

    #[test]
    fn empty_export_is_an_empty_array() {
        assert_eq!(json_chunk(&[], true, true), b"[]");
    }
}
