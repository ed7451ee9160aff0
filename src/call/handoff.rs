//! A call's side of the hand-off to a human: whether `transfer_to_human` is offered now (and
//! what the prompt says about it), the tool's decision, and the `call.transferred` event the
//! call records with that decision before it closes its stream (`CallActor`, at hang-up).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::tools;
use super::transcript::{Speaker, Turn};
use crate::conversation::playbook::{Handoff, Playbook};
use crate::handoff::{handoff_offer, HandoffOffer, TransferHours};
use crate::store::{AttemptRow, Campaign, NewTransfer};

/// What the call knows about handing over.
#[derive(Debug, Clone)]
pub struct CallHandoff {
    playbook: Option<Handoff>,
    has_numbers: bool,
    flow_mode: bool,
    hours: Option<TransferHours>,
    timezone: Tz,
    /// The agent handed the lead over; recorded at hang-up, before the stream closes.
    requested: bool,
}

impl CallHandoff {
    pub fn new(playbook: &Playbook, campaign: &Campaign, flow_mode: bool) -> CallHandoff {
        CallHandoff {
            playbook: playbook.handoff.clone(),
            has_numbers: !campaign.transfer_numbers.is_empty(),
            flow_mode,
            hours: campaign.transfer_hours(),
            timezone: campaign
                .timezone
                .parse()
                .unwrap_or(chrono_tz::Asia::Kolkata),
            requested: false,
        }
    }

    /// What the agent may do now (the hours are the campaign's local time of day).
    pub fn offer(&self, now: DateTime<Utc>) -> HandoffOffer {
        handoff_offer(
            self.playbook.is_some(),
            self.has_numbers,
            self.flow_mode,
            self.hours,
            now.with_timezone(&self.timezone).time(),
        )
    }

    /// The `transfer_to_human` definition while the tool is offered (not after it was used).
    pub fn tool(&self, now: DateTime<Utc>) -> Option<Value> {
        let when = self.playbook.as_ref()?.when.as_deref();
        (self.offer(now) == HandoffOffer::Transfer && !self.requested)
            .then(|| tools::transfer_definition(when))
    }

    /// The prompt's paragraph about people: when to transfer, or the call-back to offer.
    pub fn prompt(&self, now: DateTime<Utc>) -> Option<String> {
        match self.offer(now) {
            HandoffOffer::Transfer => {
                Some("If the lead asks to speak to a person, call transfer_to_human.".to_string())
            }
            HandoffOffer::CallBackWithin(hours) => Some(format!(
                "Our sales team is not available now (they take calls {hours}, local time). \
                 If the lead asks to speak to a person, say so and offer a call-back within \
                 those hours; book it with schedule_callback."
            )),
            HandoffOffer::Unavailable => None,
        }
    }

    /// The tool ran: the hand-off line to say (a template), or why not (told to the model).
    pub fn request(&mut self, now: DateTime<Utc>) -> Result<String, String> {
        match (self.offer(now), &self.playbook) {
            (HandoffOffer::Transfer, Some(h)) => {
                self.requested = true;
                Ok(h.line.clone())
            }
            (HandoffOffer::CallBackWithin(hours), _) => Err(format!(
                "not transferred: the team takes calls {hours} only; offer a call-back"
            )),
            _ => Err("not transferred: no person can take this call; offer a call-back".into()),
        }
    }

    pub fn requested(&self) -> bool {
        self.requested
    }
}

/// Two lines for the person who picks up: who and why, then what we know.
pub fn summary(lead_name: &str, facts: &Map<String, Value>, transcript: &[Turn]) -> String {
    let asked = transcript
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Caller)
        .map(|t| format!(" (last said: \"{}\")", t.text))
        .unwrap_or_default();
    let known: Vec<String> = facts
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    let known = if known.is_empty() {
        "Nothing collected yet.".to_string()
    } else {
        format!("Known: {}.", known.join(", "))
    };
    format!("{lead_name} asked to talk to a person{asked}.\n{known}")
}

/// The decision the call records, with its `call.transferred` event.
pub fn new_transfer(
    call_sid: &str,
    attempt: &AttemptRow,
    facts: &Map<String, Value>,
    summary: String,
    now: DateTime<Utc>,
) -> NewTransfer {
    NewTransfer {
        call_sid: call_sid.to_string(),
        campaign_id: attempt.campaign_id,
        lead_id: attempt.lead_id,
        scheduled_call_id: attempt.scheduled_call_id,
        event: json!({
            "event": "call.transferred",
            "call_sid": call_sid,
            "campaign_id": attempt.campaign_id,
            "lead_id": attempt.lead_id,
            "scheduled_call_id": attempt.scheduled_call_id,
            "attempt": attempt.attempt_number,
            "facts": facts,
            "summary": summary,
            "transferred_at": now,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_has_two_lines() {
        let facts = json!({"budget": "80 lakh", "rooms": 2});
        let turn = Turn {
            speaker: Speaker::Caller,
            text: "can I talk to a person".into(),
            timestamp: Utc::now(),
            interrupted: false,
            latency: None,
        };
        let s = summary("Ravi", facts.as_object().unwrap(), &[turn]);
        assert_eq!(
            s,
            "Ravi asked to talk to a person (last said: \"can I talk to a person\").\n\
             Known: budget: 80 lakh, rooms: 2."
        );
        assert_eq!(
            summary("Ravi", &Map::new(), &[]),
            "Ravi asked to talk to a person.\nNothing collected yet."
        );
    }
}
