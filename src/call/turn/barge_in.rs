//! Speech over the agent: hold, then resume or clear.
//!
//! Our VAD hears speech within ~100 ms; the recogniser's first interim comes 0.5–1 s after the
//! speech began. Clearing on VAD alone cuts the agent for "haan ji" and coughs. So:
//! - speech over the agent for `min_speech` (and allowed by the pick-up rule) *holds* the
//!   agent: its audio pauses, the queue is kept;
//! - words (an interim or final that is not only back-channels) clear the agent: barge-in,
//!   cut where the caller stopped hearing it;
//! - a back-channel, or no words within `hold_timeout`, resumes the agent where it paused.

use std::time::Instant;

use super::commands::Command;
use super::core::{Hold, TurnTaking};

impl TurnTaking {
    /// Back-channels ("haan", "hmm", "okay") never interrupt; a partial last word counts as
    /// one if it could still become one.
    pub(super) fn is_backchannel(&self, text: &str) -> bool {
        let words: Vec<String> = text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect();
        let known: Vec<&str> = self
            .cfg
            .backchannels
            .iter()
            .flat_map(|b| b.split_whitespace())
            .collect();
        !words.is_empty()
            && words.iter().enumerate().all(|(i, w)| {
                known.contains(&w.as_str())
                    || (i + 1 == words.len() && known.iter().any(|k| k.starts_with(w.as_str())))
            })
    }

    /// How long the caller's current (or last) stretch of speech has lasted at `now`.
    fn speech_lasted(&self, now: Instant) -> std::time::Duration {
        let Some(start) = self.caller.speech_started else {
            return std::time::Duration::ZERO;
        };
        let end = if self.caller.speaking {
            now
        } else {
            self.caller.speech_ended.unwrap_or(now)
        };
        end.saturating_duration_since(start)
    }

    /// Starts a hold when the caller has talked over the agent long enough.
    pub(super) fn hold_tick(&mut self, now: Instant) {
        if let Some(hold) = self.hold {
            let timed_out =
                now.saturating_duration_since(hold.since) >= self.cfg.timing.hold_timeout;
            if timed_out || self.agent.is_none() {
                self.resume(now);
            }
            return;
        }
        if !self.caller.speaking {
            return;
        }
        let lasted = self.speech_lasted(now);
        let audible = self.agent.as_ref().is_some_and(|t| t.audible());
        if audible
            && lasted >= self.cfg.min_speech
            && self.speech_may_interrupt(self.caller.speech_started, lasted, false)
        {
            self.hold = Some(Hold { since: now });
            if let Some(t) = self.agent.as_mut() {
                t.pause(now);
            }
            self.emit(Command::PauseAudio);
        }
    }

    /// Noise or a back-channel: the agent carries on where it paused.
    pub(super) fn resume(&mut self, now: Instant) {
        if self.hold.take().is_none() {
            return;
        }
        if let Some(t) = self.agent.as_mut() {
            t.resume(now);
        }
        self.emit(Command::ResumeAudio);
    }

    /// The caller said words while the agent was audible. `Some(true)` when they interrupted
    /// it, `Some(false)` when they are to be dropped (a back-channel; a short "Hello?" in the
    /// greeting's first second), `None` when the agent was not audible.
    pub(super) fn words_over_agent(&mut self, text: &str, now: Instant) -> Option<bool> {
        let turn = self.agent.as_ref()?;
        if !turn.audible() || turn.close_after {
            return None;
        }
        // Words just after the caller's own (a breath, not an interruption): however short,
        // they continue the caller's turn and the answer's first words are taken back.
        if self.continues_last_turn(self.caller.speech_started) && self.take_back_answer() {
            return None;
        }
        if self.is_backchannel(text) {
            self.resume(now);
            return Some(false);
        }
        let lasted = self.speech_lasted(now);
        if self.hold.is_none()
            && !self.speech_may_interrupt(self.caller.speech_started, lasted, true)
        {
            return Some(false);
        }
        self.barge_in(now);
        Some(true)
    }

    /// Clears the agent: the caller heard it up to the hold (or now).
    pub(super) fn barge_in(&mut self, now: Instant) {
        let heard_at = self.hold.map_or(now, |h| h.since);
        self.silence_agent();
        self.cut_agent(heard_at, now);
    }
}
