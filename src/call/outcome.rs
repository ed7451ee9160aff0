//! How a conversation ended (`conversations.final_outcome`). The LLM may choose the first six
//! through `end_call` (`tools::OUTCOMES`); the runtime sets the others itself.

/// A saved conversation's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationOutcome {
    Qualified,
    NotInterested,
    CallbackRequested,
    WrongNumber,
    NoResponse,
    DoNotCall,
    HungUp,
    Error,
    /// The process died mid-call (kill -9, power loss); closed at the node's next start.
    Interrupted,
    /// A machine answered (voicemail, call screening, a carrier announcement).
    Voicemail,
    /// The agent handed the lead to a person (`transfer_to_human`): the flow's Connect rang
    /// the campaign's team; whether they answered is the transfer's own result.
    Transferred,
}

impl ConversationOutcome {
    pub const ALL: [ConversationOutcome; 11] = [
        Self::Qualified,
        Self::NotInterested,
        Self::CallbackRequested,
        Self::WrongNumber,
        Self::NoResponse,
        Self::DoNotCall,
        Self::HungUp,
        Self::Error,
        Self::Interrupted,
        Self::Voicemail,
        Self::Transferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qualified => "qualified",
            Self::NotInterested => "not_interested",
            Self::CallbackRequested => "callback_requested",
            Self::WrongNumber => "wrong_number",
            Self::NoResponse => "no_response",
            Self::DoNotCall => "do_not_call",
            Self::HungUp => "hung_up",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
            Self::Voicemail => "voicemail",
            Self::Transferred => "transferred",
        }
    }

    pub fn parse(text: &str) -> Option<ConversationOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back() {
        for o in ConversationOutcome::ALL {
            assert_eq!(ConversationOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(ConversationOutcome::parse("exploded"), None);
    }

    #[test]
    fn the_llm_chooses_only_outcomes_we_know() {
        for o in crate::call::tools::OUTCOMES {
            assert!(ConversationOutcome::parse(o).is_some(), "{o}");
        }
    }
}
