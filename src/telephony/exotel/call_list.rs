//! Exotel's Bulk Call Details (`GET /v1/Accounts/{sid}/Calls`): the calls our account placed
//! to one number in a time range. It settles a dial whose answer we never saw: a call there is
//! ours to adopt; none there means nothing rang.
//!
//! In both of our dialing modes the lead's number is the call's `From` (the number Exotel
//! calls first), so the lookup filters on `From`. Exotel's filter times are its local time
//! (IST, as in every Exotel timestamp); the list answers `{"Metadata": …, "Calls": [Call…]}`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::{error_of, loose_int, ExotelClient, ExotelError};
use super::parse_status;
use crate::domain::{CallDuration, CallStatus, Phone};

/// One call in the list, with what settling needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedCall {
    pub sid: String,
    /// `None` for a status word we do not know.
    pub status: Option<CallStatus>,
    /// Our `CustomField`, when the list carries it (it tells our attempts apart).
    pub custom_field: Option<String>,
    pub duration_seconds: Option<CallDuration>,
    pub recording_url: Option<String>,
}

#[derive(Deserialize)]
struct CallList {
    /// Required: a body without it proves nothing (an empty list would say "nothing rang").
    #[serde(rename = "Calls")]
    calls: Vec<ListedBody>,
}

#[derive(Deserialize)]
struct ListedBody {
    #[serde(rename = "Sid")]
    sid: String,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "CustomField", default)]
    custom_field: Option<String>,
    #[serde(rename = "Duration", default)]
    duration: Option<serde_json::Value>,
    #[serde(rename = "RecordingUrl", default)]
    recording_url: Option<String>,
}

/// Exotel's filter format for a UTC instant: local (IST) wall-clock time.
pub fn exotel_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Kolkata)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl ExotelClient {
    /// Calls placed to `number` created between `from` and `to` (at most 100: one number in a
    /// window of minutes never has more).
    pub async fn calls_to(
        &self,
        number: &Phone,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ListedCall>, ExotelError> {
        let (sid, key, token) = self.account()?;
        let url = format!("{}/v1/Accounts/{sid}/Calls", self.base_url());
        let created = format!("gte:{};lte:{}", exotel_time(from), exotel_time(to));
        let response = self
            .http()
            .get(url)
            .basic_auth(key, Some(token))
            .query(&[
                ("From", number.as_str()),
                ("DateCreated", created.as_str()),
                ("PageSize", "100"),
            ])
            .send()
            .await
            .map_err(|e| ExotelError::Transient(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| ExotelError::Transient(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(match error_of(status, &body) {
                ExotelError::MaybePlaced(reason) => ExotelError::Transient(reason),
                other => other,
            });
        }
        // An unreadable list proves nothing either way: the caller asks again later.
        let list: CallList = serde_json::from_slice(&body)
            .map_err(|e| ExotelError::Transient(format!("unreadable call list: {e}")))?;
        Ok(list
            .calls
            .into_iter()
            .filter(|c| !c.sid.trim().is_empty())
            .map(|c| ListedCall {
                status: c.status.as_deref().and_then(parse_status),
                custom_field: c.custom_field.filter(|f| !f.is_empty()),
                duration_seconds: c
                    .duration
                    .as_ref()
                    .and_then(loose_int)
                    .map(CallDuration::clamped),
                recording_url: c.recording_url.filter(|u| !u.is_empty()),
                sid: c.sid,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_times_are_exotel_local_time() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T05:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(exotel_time(at), "2026-11-26 11:00:00");
    }

    #[test]
    fn a_list_as_exotel_sends_it() {
        let body = br#"{"Metadata":{"Total":1,"PageSize":100},"Calls":[{"Sid":"a1","Status":"no-answer",
            "From":"+919000000001","Duration":null,"RecordingUrl":""},{"Sid":"","Status":"completed"}]}"#;
        let list: CallList = serde_json::from_slice(body).unwrap();
        assert_eq!(list.calls.len(), 2);
        assert_eq!(list.calls[0].sid, "a1");
    }

    #[test]
    fn a_body_without_a_list_is_not_an_empty_list() {
        for body in [
            &b"{}"[..],
            br#"{"Metadata":{"Total":0}}"#,
            br#"{"Calls":null}"#,
        ] {
            assert!(
                serde_json::from_slice::<CallList>(body).is_err(),
                "{body:?}"
            );
        }
        let empty: CallList = serde_json::from_slice(br#"{"Calls":[]}"#).unwrap();
        assert!(empty.calls.is_empty());
    }
}
