//! The campaign lifecycle. Every legal state change is listed in `can_become`, and nowhere else.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    /// Being prepared: leads may be uploaded, settings edited, nothing is dialed.
    Draft,
    /// Started, waiting for its calling window to open.
    Scheduled,
    /// Dialing leads inside its calling window.
    Running,
    /// Stopped by an operator; calls in progress finish, no new dials.
    Paused,
    /// Every lead reached an end. Read-only from here on.
    Completed,
}

/// A requested state change the lifecycle does not allow.
#[derive(Debug, Clone, thiserror::Error)]
#[error("a {from} campaign cannot become {to}")]
pub struct IllegalTransition {
    pub from: CampaignStatus,
    pub to: CampaignStatus,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 5] = [
        CampaignStatus::Draft,
        CampaignStatus::Scheduled,
        CampaignStatus::Running,
        CampaignStatus::Paused,
        CampaignStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "DRAFT",
            CampaignStatus::Scheduled => "SCHEDULED",
            CampaignStatus::Running => "RUNNING",
            CampaignStatus::Paused => "PAUSED",
            CampaignStatus::Completed => "COMPLETED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The one place the lifecycle is written down.
    pub fn can_become(self, to: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, to),
            (Draft, Scheduled)
                | (Draft, Running)
                | (Scheduled, Running)
                | (Scheduled, Paused)
                // The window closed while the last calls were live; when they end, it is done.
                | (Scheduled, Completed)
                | (Running, Scheduled)
                | (Running, Paused)
                | (Running, Completed)
                | (Paused, Running)
                | (Paused, Scheduled)
                | (Paused, Completed)
        )
    }

    pub fn transition(self, to: CampaignStatus) -> Result<CampaignStatus, IllegalTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// Settings and leads may change in every state but COMPLETED.
    pub fn is_editable(self) -> bool {
        self != CampaignStatus::Completed
    }
}

impl std::fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::CampaignStatus::*;
    use super::*;

    #[test]
    fn completed_is_final() {
        for to in CampaignStatus::ALL {
            assert!(!Completed.can_become(to));
        }
        assert!(!Completed.is_editable());
    }

    #[test]
    fn the_usual_life() {
        assert!(Draft.transition(Running).is_ok());
        assert!(Running.transition(Paused).is_ok());
        assert!(Paused.transition(Running).is_ok());
        assert!(Running.transition(Completed).is_ok());
        assert!(Draft.transition(Completed).is_err());
        assert!(Draft.transition(Paused).is_err());
        assert!(Running.transition(Draft).is_err());
    }

    /// The calling window closed (RUNNING → SCHEDULED) while the last calls were live: when
    /// they end, the campaign is done. Refused, every scheduling round failed and the campaign
    /// stayed SCHEDULED for ever.
    #[test]
    fn a_campaign_waiting_for_its_window_can_complete() {
        assert!(Scheduled.transition(Completed).is_ok());
    }

    #[test]
    fn names_round_trip() {
        for s in CampaignStatus::ALL {
            assert_eq!(CampaignStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CampaignStatus::parse("running"), None);
    }
}
