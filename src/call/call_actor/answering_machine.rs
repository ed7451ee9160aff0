//! A minimal wiring of the machine detector (`call::machine_detection`) into this CallActor, so
//! the whole voicemail path can be tested end to end before the turn-taking core takes over
//! (it wires the same detector API; this block is then dropped).
//!
//! Caller audio, transcripts and the call's 250 ms tick feed the detector. On a machine: the
//! agent stops (its audio is cleared, the LLM and TTS cancelled), the call waits for the beep,
//! or for 2 s of quiet after the machine's greeting, at most 10 s; it then says the playbook's
//! `voicemail.message` (if any) and hangs up. The conversation is saved with outcome
//! `voicemail` and the lead is called again after the campaign's `retry_voicemail_minutes`.
//! From the machine verdict on, the normal turn-taking ignores the line (no barge-in, no LLM
//! turn, no silence re-prompt).

use std::time::{Duration, Instant};

use super::CallActor;
use crate::actors::Engine;
use crate::call::machine_detection::{AnsweredBy, MachineDetector, MachineEvent};
use crate::call::messages::SocketCommand;
use crate::conversation::playbook::{render, Playbook};
use crate::scheduling::NextStep;
use crate::store::{AttemptRow, Campaign};
use crate::telephony::call_outcome::{
    lead_retry_policy, next_step_after_voicemail, retry_policy, retry_window, voicemail_delay,
};

/// Quiet after a machine's greeting taken as "recording now" when no beep was heard.
const QUIET_BEFORE_MESSAGE: Duration = Duration::from_secs(2);
/// The longest wait for a beep or quiet once a machine answered.
const MAX_WAIT_FOR_BEEP: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Deciding, or a person answered.
    Watching,
    /// A machine answered: waiting for its beep (or quiet) to leave the message.
    WaitingForBeep { since: Instant },
    /// Leaving the message (or hanging up).
    Leaving,
}

/// The detector and what the call does about its verdict.
pub(super) struct MachineWatch {
    detector: MachineDetector,
    phase: Phase,
}

impl MachineWatch {
    pub(super) fn new(playbook: &Playbook, sample_rate: u32) -> MachineWatch {
        MachineWatch {
            detector: MachineDetector::new(playbook, sample_rate, Instant::now()),
            phase: Phase::Watching,
        }
    }

    fn is_machine(&self) -> bool {
        self.detector.verdict() == Some(AnsweredBy::Machine)
    }
}

impl CallActor {
    /// Whether a machine answered this call.
    pub(super) fn answered_by_machine(&self) -> bool {
        self.machine.is_machine()
    }

    /// Caller audio; true when a machine answered (the rest of the handler must not react).
    pub(super) fn machine_audio(&mut self, pcm: &[i16]) -> bool {
        let event = self.machine.detector.push_audio(pcm, Instant::now());
        self.machine_events(event)
    }

    /// A transcript; true when a machine answered.
    pub(super) fn machine_transcript(&mut self, text: &str, is_final: bool) -> bool {
        let event = self
            .machine
            .detector
            .push_transcript(text, is_final, Instant::now());
        self.machine_events(event)
    }

    /// The call's tick; true when a machine answered.
    pub(super) fn machine_tick(&mut self) -> bool {
        let event = self.machine.detector.tick(Instant::now());
        self.machine_events(event)
    }

    fn machine_events(&mut self, first: Option<MachineEvent>) -> bool {
        let mut event = first;
        while let Some(e) = event {
            self.on_machine_event(e);
            event = self.machine.detector.poll_event();
        }
        if let Phase::WaitingForBeep { since } = self.machine.phase {
            let quiet = !self.vad.is_speaking()
                && self.vad.silence_ms() >= QUIET_BEFORE_MESSAGE.as_millis() as u32;
            if quiet || since.elapsed() >= MAX_WAIT_FOR_BEEP {
                tracing::info!(call_sid = %self.s.call_sid, quiet, "no beep heard; leaving the message now");
                self.leave_message();
            }
        }
        self.machine.is_machine()
    }

    fn on_machine_event(&mut self, event: MachineEvent) {
        let reason = self.machine.detector.reason();
        match event {
            MachineEvent::Decided(AnsweredBy::Machine) if !self.finished => {
                tracing::info!(call_sid = %self.s.call_sid, ?reason, "a machine answered");
                if self.agent.take().is_some() {
                    self.s.socket.do_send(SocketCommand::Clear);
                }
                self.generation += 1;
                self.cancel_children();
                self.user_text.clear();
                self.user_interim.clear();
                self.machine.phase = Phase::WaitingForBeep {
                    since: Instant::now(),
                };
            }
            MachineEvent::Decided(by) => {
                tracing::info!(call_sid = %self.s.call_sid, ?by, ?reason, "answered by");
            }
            MachineEvent::Beep => {
                if matches!(self.machine.phase, Phase::WaitingForBeep { .. }) {
                    tracing::info!(call_sid = %self.s.call_sid, "beep heard; leaving the message");
                    self.leave_message();
                }
            }
        }
    }

    fn leave_message(&mut self) {
        self.machine.phase = Phase::Leaving;
        if self.finished {
            return;
        }
        match self.s.playbook.voicemail.message.clone() {
            // Hangs up once the message has played.
            Some(message) => self.say(render(&message, &self.vars), true),
            None => self.s.socket.do_send(SocketCommand::HangUp),
        }
    }
}

/// The lead's next step after a machine answered: a retry after the campaign's
/// `retry_voicemail_minutes` inside its window, or EXHAUSTED.
pub(super) async fn next_after_voicemail(
    engine: &Engine,
    campaign: &Campaign,
    attempt: &AttemptRow,
) -> NextStep {
    let minute_seconds = engine.settings.retry_minute_seconds;
    let policy = match lead_retry_policy(engine, campaign, attempt.lead_id).await {
        Ok(policy) => policy,
        // Without the lead's free call-backs: at worst one retry fewer.
        Err(_) => retry_policy(campaign, minute_seconds),
    };
    next_step_after_voicemail(
        u32::try_from(attempt.attempt_number).unwrap_or(u32::MAX),
        &policy,
        voicemail_delay(campaign, minute_seconds),
        &retry_window(campaign, engine.settings.calling.regulatory_hours),
        engine.clock.now(),
    )
}
