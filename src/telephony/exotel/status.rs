//! Exotel's call status words, mapped onto ours.

use crate::domain::CallStatus;

/// `queued`, `ringing`, `in-progress`, `completed`, `busy`, `no-answer`, `failed`, `canceled`
/// (and the British spelling), any case; `None` for words Exotel has not documented.
pub fn parse_status(raw: &str) -> Option<CallStatus> {
    let status = match raw.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "queued" | "initiated" => CallStatus::Initiated,
        "ringing" => CallStatus::Ringing,
        "in-progress" | "answered" => CallStatus::InProgress,
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "canceled" | "cancelled" => CallStatus::Canceled,
        _ => return None,
    };
    Some(status)
}

/// Our status as Exotel spells it (the sandbox simulator speaks Exotel).
pub fn exotel_word(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Initiated => "queued",
        CallStatus::Ringing => "ringing",
        CallStatus::InProgress => "in-progress",
        CallStatus::Completed => "completed",
        CallStatus::Busy => "busy",
        CallStatus::NoAnswer => "no-answer",
        CallStatus::Failed => "failed",
        CallStatus::Canceled => "canceled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips() {
        for s in CallStatus::ALL {
            assert_eq!(parse_status(exotel_word(*s)), Some(*s));
        }
        assert_eq!(parse_status("No_Answer"), Some(CallStatus::NoAnswer));
        assert_eq!(parse_status("cancelled"), Some(CallStatus::Canceled));
        assert_eq!(parse_status("exploded"), None);
    }
}
