//! A machine answered (the `MachineDetector` decided): the agent stops, waits for the beep —
//! or `voicemail_silence` after the machine went quiet, or `voicemail_cap` — then leaves the
//! playbook's message if it has one, and hangs up. The outcome is `voicemail`. Until the
//! detector decides, the call goes on as with a person.

use std::time::Instant;

use super::agent_turn::TurnKind;
use super::commands::Command;
use super::core::{Stage, TurnTaking};
use crate::call::machine_detection::{AnsweredBy, MachineEvent};

/// Waiting to leave the message.
#[derive(Debug, Clone, Copy)]
pub(super) struct VoicemailWait {
    pub since: Instant,
    pub beep: bool,
}

impl TurnTaking {
    pub(super) fn on_machine(&mut self, event: MachineEvent, now: Instant) {
        match event {
            MachineEvent::Decided(AnsweredBy::Human) => {}
            MachineEvent::Decided(AnsweredBy::Machine) => {
                if !matches!(self.stage, Stage::Pickup | Stage::Talking) {
                    return;
                }
                if self.agent.is_some() {
                    self.silence_agent();
                    self.cut_agent(now, now);
                }
                self.verdict.voicemail();
                self.caller.text.clear();
                self.caller.interim.clear();
                self.stage = Stage::Voicemail;
                self.voicemail = Some(VoicemailWait {
                    since: now,
                    beep: false,
                });
            }
            MachineEvent::Beep => {
                if let Some(w) = self.voicemail.as_mut() {
                    w.beep = true;
                }
            }
        }
    }

    pub(super) fn voicemail_tick(&mut self, now: Instant) {
        if self.stage != Stage::Voicemail {
            return;
        }
        let Some(wait) = self.voicemail else {
            return;
        };
        let t = &self.cfg.timing;
        let quiet = !self.caller.speaking
            && now.saturating_duration_since(
                self.caller
                    .speech_ended
                    .unwrap_or(wait.since)
                    .max(wait.since),
            ) >= t.voicemail_silence;
        let due =
            wait.beep || quiet || now.saturating_duration_since(wait.since) >= t.voicemail_cap;
        if !due {
            return;
        }
        self.voicemail = None;
        self.stage = Stage::Closing;
        match self.cfg.lines.voicemail_message.clone() {
            Some(message) => self.say(message, TurnKind::Fixed, true, now),
            None => self.emit(Command::HangUp),
        }
    }
}
