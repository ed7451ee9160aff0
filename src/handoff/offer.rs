//! Whether a call offers `transfer_to_human` now: the playbook must enable the hand-off, the
//! campaign must have somewhere to send it, the call must run in Exotel's flow mode (in direct
//! mode closing the stream ends the call: there is no applet after us), and the human team
//! must be at work (outside its hours the agent offers a call-back instead).

use chrono::NaiveTime;

use super::settings::TransferHours;

/// What the agent may do when a lead asks for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffOffer {
    /// The tool is offered.
    Transfer,
    /// The team is off: the agent offers a call-back inside these hours.
    CallBackWithin(TransferHours),
    /// No hand-off on this call at all.
    Unavailable,
}

/// The pure decision; `local_now` is the time of day in the campaign's zone.
pub fn handoff_offer(
    playbook_enables: bool,
    has_numbers: bool,
    flow_mode: bool,
    hours: Option<TransferHours>,
    local_now: NaiveTime,
) -> HandoffOffer {
    if !(playbook_enables && has_numbers && flow_mode) {
        return HandoffOffer::Unavailable;
    }
    match hours {
        Some(h) if !h.contains(local_now) => HandoffOffer::CallBackWithin(h),
        _ => HandoffOffer::Transfer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_is_offered_only_when_everything_allows_it() {
        let hours = TransferHours::parse("10:00-19:00").ok();
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let night = NaiveTime::from_hms_opt(21, 0, 0).unwrap();
        use HandoffOffer::*;
        let cases = [
            (true, true, true, None, noon, Transfer),
            (true, true, true, hours, noon, Transfer),
            (
                true,
                true,
                true,
                hours,
                night,
                CallBackWithin(hours.unwrap()),
            ),
            (false, true, true, None, noon, Unavailable),
            (true, false, true, None, noon, Unavailable),
            (true, true, false, None, noon, Unavailable),
            (true, true, false, hours, night, Unavailable),
        ];
        for (playbook, numbers, flow, h, now, want) in cases {
            assert_eq!(
                handoff_offer(playbook, numbers, flow, h, now),
                want,
                "{playbook} {numbers} {flow} {h:?} {now}"
            );
        }
    }
}
