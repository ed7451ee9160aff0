//! Whether the human answered a transfer, from what Exotel tells the Passthru placed in the
//! Connect applet's exits (`DialCallStatus`, `CallType`, `DialCallDuration`): as read in
//! production by frappe/erpnext and frappe/crm, `CallType=completed` means the two talked;
//! `incomplete` with `no-answer`/`busy`/`failed`, or `client-hangup`, means nobody did.

use serde::Serialize;

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferResult {
    /// `transfer_answered`: the human picked up and talked to the lead.
    Answered,
    /// `transfer_missed`: nobody picked up (no answer, busy, failed, the lead gave up).
    Missed,
}

impl TransferResult {
    /// The stored word (`transfers.result`).
    pub fn as_str(self) -> &'static str {
        match self {
            TransferResult::Answered => "answered",
            TransferResult::Missed => "missed",
        }
    }

    /// The outcome name shown to operators and in events.
    pub fn outcome(self) -> &'static str {
        match self {
            TransferResult::Answered => "transfer_answered",
            TransferResult::Missed => "transfer_missed",
        }
    }

    pub fn parse(raw: &str) -> Option<TransferResult> {
        match raw {
            "answered" => Some(TransferResult::Answered),
            "missed" => Some(TransferResult::Missed),
            _ => None,
        }
    }

    /// Reads the Connect's result fields: answered iff `CallType=completed`, or
    /// `DialCallStatus=completed` with a positive `DialCallDuration`.
    pub fn from_dial(
        call_type: Option<&str>,
        dial_status: Option<&str>,
        dial_duration: Option<&str>,
    ) -> TransferResult {
        let norm = |v: Option<&str>| v.map(|s| s.trim().trim_matches('"').to_ascii_lowercase());
        let talked = dial_duration
            .and_then(|d| d.trim().trim_matches('"').parse::<i64>().ok())
            .is_some_and(|d| d > 0);
        let answered = norm(call_type).as_deref() == Some("completed")
            || (norm(dial_status).as_deref() == Some("completed") && talked);
        if answered {
            TransferResult::Answered
        } else {
            TransferResult::Missed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransferResult::*;

    #[test]
    fn dial_results_read() {
        let cases = [
            (Some("completed"), Some("completed"), Some("42"), Answered),
            (Some("completed"), None, None, Answered),
            (None, Some("completed"), Some("12"), Answered),
            (None, Some("completed"), Some("0"), Missed),
            (Some("incomplete"), Some("no-answer"), Some("0"), Missed),
            (Some("incomplete"), Some("busy"), None, Missed),
            (Some("incomplete"), Some("failed"), None, Missed),
            (Some("client-hangup"), Some("canceled"), Some("0"), Missed),
            (None, None, None, Missed),
            (Some("\"Completed\""), None, None, Answered),
        ];
        for (call_type, status, duration, want) in cases {
            assert_eq!(
                TransferResult::from_dial(call_type, status, duration),
                want,
                "{call_type:?} {status:?} {duration:?}"
            );
        }
        for r in [Answered, Missed] {
            assert_eq!(TransferResult::parse(r.as_str()), Some(r));
        }
    }
}
