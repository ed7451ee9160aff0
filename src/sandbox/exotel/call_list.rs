//! The simulator's Bulk Call Details: `GET /v1/Accounts/{sid}/Calls?From=…&DateCreated=gte:…;lte:…`,
//! answering from its book of placed calls as Exotel would: `{"Metadata": …, "Calls": [Call…]}`,
//! times in IST, no `CustomField` (Exotel's list does not carry it, so the runtime must not
//! rely on it).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::json;

use super::calls::CallBook;
use crate::telephony::exotel::status::exotel_word;

/// A time range; either bound may be open.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A `DateCreated` filter: `gte:YYYY-MM-DD HH:MM:SS;lte:…` in IST; either bound may be absent.
pub fn created_range(filter: &str) -> Result<Range, String> {
    let mut range = (None, None);
    for part in filter.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (op, value) = part
            .split_once(':')
            .ok_or_else(|| format!("DateCreated: expected gte:… or lte:…, got {part:?}"))?;
        let local = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%d %H:%M:%S")
            .map_err(|e| format!("DateCreated: {value:?}: {e}"))?;
        let at = chrono_tz::Asia::Kolkata
            .from_local_datetime(&local)
            .single()
            .ok_or_else(|| format!("DateCreated: {value:?} is not a local time"))?
            .with_timezone(&Utc);
        match op {
            "gte" => range.0 = Some(at),
            "lte" => range.1 = Some(at),
            _ => return Err(format!("DateCreated: unknown operator {op:?}")),
        }
    }
    Ok(range)
}

/// The calls to any of `numbers` (empty: all) created inside the range, as Exotel lists them.
pub fn list(book: &CallBook, numbers: &[&str], range: Range) -> serde_json::Value {
    let calls: Vec<serde_json::Value> = book
        .dials()
        .into_iter()
        .filter(|d| numbers.is_empty() || numbers.contains(&d.from.as_str()))
        .filter(|d| range.0.is_none_or(|from| d.at >= from))
        .filter(|d| range.1.is_none_or(|to| d.at <= to))
        .filter_map(|d| {
            let call = book.call(&d.call_sid)?;
            let created =
                d.at.with_timezone(&chrono_tz::Asia::Kolkata)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string();
            Some(json!({
                "Sid": d.call_sid, "DateCreated": created, "From": d.from,
                "Status": exotel_word(call.status), "Duration": call.duration_seconds,
                "Direction": "outbound-api", "RecordingUrl": null,
            }))
        })
        .collect();
    json!({"Metadata": {"Total": calls.len(), "PageSize": 100, "Page": 0}, "Calls": calls})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_in_ist() {
        let (from, to) = created_range("gte:2026-11-26 11:00:00;lte:2026-11-26 11:30:00").unwrap();
        assert_eq!(from.unwrap().to_rfc3339(), "2026-11-26T05:30:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2026-11-26T06:00:00+00:00");
        assert!(created_range("after:2026").is_err());
        assert!(created_range("gte:yesterday").is_err());
    }
}
