//! Status enums of leads, scheduled calls and call sessions, stored as text with CHECKs.

macro_rules! text_enum {
    // `$text:tt`, not `:literal`: a `literal` fragment reaches derives wrapped in an invisible
    // group, which utoipa's `ToSchema` does not see through (it would show the variant names).
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|s| s.as_str() == raw)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
// Other domain files declare their text enums with it too.
pub(crate) use text_enum;

text_enum! {
    /// Where a lead stands in its campaign.
    LeadStatus {
        /// Imported, no call planned yet.
        New = "NEW",
        /// A call is planned for it.
        Scheduled = "SCHEDULED",
        /// Being dialed or on the phone.
        InProgress = "IN_PROGRESS",
        /// A conversation reached an outcome.
        Completed = "COMPLETED",
        /// Every allowed attempt was used without a conversation.
        Exhausted = "EXHAUSTED",
        /// A permanent failure (e.g. the number does not exist).
        Failed = "FAILED",
    }
}

text_enum! {
    /// One planned dial of a lead.
    ScheduledCallStatus {
        Pending = "PENDING",
        Dialing = "DIALING",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Failed = "FAILED",
        Cancelled = "CANCELLED",
    }
}

text_enum! {
    /// One Exotel call, as its status callbacks describe it.
    CallStatus {
        Initiated = "INITIATED",
        Ringing = "RINGING",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Failed = "FAILED",
        Busy = "BUSY",
        NoAnswer = "NO_ANSWER",
        Canceled = "CANCELED",
    }
}

impl CallStatus {
    /// Terminal statuses are never overwritten by a late, earlier-stage callback.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CallStatus::Completed
                | CallStatus::Failed
                | CallStatus::Busy
                | CallStatus::NoAnswer
                | CallStatus::Canceled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(s.as_str()), Some(*s));
        }
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::parse(s.as_str()), Some(*s));
        }
        assert!(CallStatus::NoAnswer.is_terminal());
        assert!(!CallStatus::Ringing.is_terminal());
    }
}
