//! What the call does when the LLM calls one of its tools (`crate::call::tools` defines and
//! parses them): record facts, end the call, book a call-back, opt out, hand over.

use serde_json::Value;

use super::CallActor;
use crate::call::outcome::ConversationOutcome;
use crate::call::tools::{self, ToolAction};
use crate::conversation::playbook::render;
use crate::domain::SuppressionSource;
use crate::providers::openai::ToolCall;
use crate::scheduling::callback::CallbackRefusal;
use crate::scheduling::{decide_callback, CallbackDecision, CallbackUsage};
use crate::telephony::call_outcome::retry_window;

impl CallActor {
    pub(super) fn apply_tool(&mut self, call: &ToolCall) -> String {
        match tools::parse(&call.function.name, &call.function.arguments) {
            ToolAction::RecordDetails(details) => {
                for (k, v) in &details {
                    self.facts.insert(k.clone(), v.clone());
                }
                self.session_edits += 1;
                format!("recorded {}", Value::Object(details))
            }
            ToolAction::EndCall { outcome } => match ConversationOutcome::parse(&outcome) {
                // `end_call` with outcome `do_not_call` is an opt-out as much as the tool is.
                Some(ConversationOutcome::DoNotCall) => self.opt_out(),
                Some(outcome) => {
                    self.core.verdict_mut().propose(outcome);
                    self.closing = true;
                    "the call will end after your goodbye".into()
                }
                None => format!(
                    "unknown outcome {outcome:?}; use one of {:?}",
                    tools::OUTCOMES
                ),
            },
            ToolAction::ScheduleCallback { .. } if self.core.verdict().opted_out() => {
                // Whatever the person says after opting out, they are not called again.
                "not booked: the lead asked not to be called again, so no call-back may be \
                 scheduled; say goodbye"
                    .into()
            }
            ToolAction::ScheduleCallback { when } => {
                let floor = self.s.engine.settings.calling.regulatory_hours;
                let window = retry_window(&self.s.campaign, floor);
                let tz = window.timezone;
                let Some(asked) = tools::callback_time(&when, tz) else {
                    return format!("could not read the time {when:?}; ask again");
                };
                let usage = CallbackUsage {
                    free_used: u32::try_from(self.s.lead.free_callbacks_used).unwrap_or(0),
                    attempt_number: u32::try_from(self.s.attempt.attempt_number).unwrap_or(1),
                    max_attempts: u32::try_from(self.s.campaign.max_attempts).unwrap_or(1),
                };
                let now = self.s.engine.clock.now();
                match decide_callback(asked, now, &window, usage) {
                    CallbackDecision::Granted { at, free } => {
                        self.callback_at = Some(at);
                        self.callback_free = free;
                        self.core.verdict_mut().callback_requested();
                        self.closing = true;
                        format!(
                            "callback scheduled for {}",
                            at.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                        )
                    }
                    CallbackDecision::Refused(CallbackRefusal::NoAttemptsLeft) => {
                        self.core.verdict_mut().callback_requested();
                        self.closing = true;
                        CallbackRefusal::NoAttemptsLeft.to_string()
                    }
                    CallbackDecision::Refused(why) => {
                        let floor = window
                            .floor
                            .map(|f| format!(", and only {f}"))
                            .unwrap_or_default();
                        format!(
                            "{why} (calling hours {:02}:00–{:02}:00 {tz} on {}{floor})",
                            window.start_hour,
                            window.end_hour,
                            window.days.canonical()
                        )
                    }
                }
            }
            ToolAction::DoNotCall => self.opt_out(),
            ToolAction::TransferToHuman if self.core.verdict().opted_out() => {
                "not transferred: the lead asked not to be called again; say goodbye".into()
            }
            ToolAction::TransferToHuman => match self.handoff.request(self.s.engine.clock.now()) {
                Ok(line) => {
                    // The outcome becomes `transferred` only once the line was heard
                    // (`hand_over`): a lead who hangs up during it was not handed over.
                    tracing::info!("the agent hands the lead to a person");
                    self.handoff_line = Some(render(&line, &self.vars));
                    self.closing = true;
                    "the runtime says the hand-off line and connects the call; say nothing more"
                        .into()
                }
                Err(refusal) => refusal,
            },
            ToolAction::Invalid(why) => why,
        }
    }

    pub(super) fn opt_out(&mut self) -> String {
        self.core.verdict_mut().opt_out();
        self.suppress_now();
        self.closing = true;
        "the lead will not be called again".into()
    }

    /// Puts the number on the suppression list as soon as the person opts out, not only when
    /// the conversation is saved: a process killed mid-goodbye must not call them again.
    pub(super) fn suppress_now(&self) {
        let store = self.s.engine.store.clone();
        let phone = self.s.lead.phone.clone();
        let reason = format!(
            "asked not to be called again (campaign {}, call {})",
            self.s.attempt.campaign_id, self.s.call_sid
        );
        let now = self.s.engine.clock.now();
        let span = self.span.clone();
        actix::spawn(async move {
            if let Err(e) = store
                .add_suppression(&phone, &reason, SuppressionSource::Call, now)
                .await
            {
                // The conversation's save writes it again in its own transaction.
                let _span = span.entered();
                tracing::warn!(error = %e, "could not suppress the number yet; the save will");
            }
        });
    }

    pub(super) fn closing_line(&self) -> String {
        let c = &self.s.playbook.closing;
        let line = match self.core.verdict().outcome() {
            Some(ConversationOutcome::CallbackRequested) => &c.callback,
            Some(ConversationOutcome::Qualified) => &c.qualified,
            _ if self.s.playbook.is_qualified(&self.facts) => &c.qualified,
            _ => &c.not_qualified,
        };
        render(line, &self.vars)
    }
}
