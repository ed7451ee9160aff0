//! The caller's turn.
//!
//! A caller's turn ends when the recogniser says so — Deepgram's `speech_final` (its
//! endpointing) or `UtteranceEnd` — or on a key press. Our VAD is only a hint: a breath
//! between two sentences is VAD silence, and ending the turn there splits it in two. Only if
//! final words are pending, no end of turn came, and the VAD has heard silence for
//! `end_of_turn_fallback` (the recogniser lost it) does the turn end without one.
//! A turn that ends while the agent is busy is answered when the agent is free. Silence after
//! the agent's turn re-prompts, then closes with `no_response`.

use std::time::{Duration, Instant};

use super::agent_turn::TurnKind;
use super::core::{Stage, TurnTaking};
use crate::call::outcome::ConversationOutcome;
use crate::call::transcript::Speaker;
use crate::providers::openai::ChatMessage;

impl TurnTaking {
    pub(super) fn on_speech_started(&mut self, after_silence: Option<Duration>, now: Instant) {
        self.caller.speaking = true;
        self.caller.speech_started = Some(now);
        self.caller.resumed_after = after_silence;
        self.caller.speech_ended = None;
        if self.stage == Stage::Pickup {
            self.caller.spoke_at_pickup = true;
        } else if self.caller.ignore_until_new_speech {
            self.caller.ignore_until_new_speech = false;
            self.caller.text.clear();
            self.caller.interim.clear();
        } else {
            self.drop_speculation();
            self.continue_if_unheard();
        }
    }

    pub(super) fn on_speech_ended(&mut self, now: Instant) {
        self.caller.speaking = false;
        self.caller.speech_ended = Some(now);
        self.finalize_on_silence();
        self.speculate(now);
    }

    /// Transcripts are not turns before the greeting, during a voicemail, or while the
    /// callee's "Hello?" is still being transcribed.
    fn transcripts_count(&self) -> bool {
        matches!(self.stage, Stage::Talking | Stage::Closing)
            && !self.caller.ignore_until_new_speech
    }

    pub(super) fn on_interim(&mut self, text: String, now: Instant) {
        if !self.transcripts_count() || text.trim().is_empty() {
            return;
        }
        self.words_over_agent(&text, now);
        self.caller.interim = text;
        // Later words of a caller who has stopped: the answer is asked for them instead.
        self.speculate(now);
    }

    pub(super) fn on_final(
        &mut self,
        text: String,
        speech_final: bool,
        from_finalize: bool,
        now: Instant,
    ) {
        if !self.transcripts_count() {
            return;
        }
        self.caller.interim.clear();
        if !text.trim().is_empty() {
            if self.words_over_agent(&text, now) == Some(false) {
                return;
            }
            if !self.caller.text.is_empty() {
                self.caller.text.push(' ');
            }
            self.caller.text.push_str(text.trim());
            self.caller.last_words_at = Some(now);
        }
        // Our `Finalize` flushed the words of a caller who is still quiet: the turn is over
        // without waiting for the recogniser's endpointing (`continuation` if they go on).
        // The recogniser's own end of turn is the end, unless it came for words the caller
        // has already gone on from (`went_on_after_a_breath`).
        if (speech_final && !self.went_on_after_a_breath())
            || (from_finalize && !self.caller.speaking)
        {
            self.caller.turn_complete = true;
        }
    }

    pub(super) fn on_utterance_end(&mut self, _now: Instant) {
        if self.transcripts_count() {
            self.caller.turn_complete = true;
        }
    }

    pub(super) fn on_dtmf(&mut self, digit: &str, _now: Instant) {
        if !matches!(self.stage, Stage::Talking) {
            return;
        }
        let note = format!("[the caller pressed {digit} on the keypad]");
        if !self.caller.text.is_empty() {
            self.caller.text.push(' ');
        }
        self.caller.text.push_str(&note);
        self.caller.turn_complete = true;
    }

    /// Answers a finished caller turn once the agent is free; re-prompts after silence.
    pub(super) fn listening_tick(&mut self, now: Instant) {
        if self.stage != Stage::Talking || self.agent.is_some() {
            return;
        }
        let has_text = !self.caller.text.trim().is_empty();
        if has_text && self.caller.turn_complete {
            self.end_of_user_turn(now);
            return;
        }
        let silent_for = |since: Option<Instant>| {
            since.map_or(std::time::Duration::ZERO, |t| {
                now.saturating_duration_since(t)
            })
        };
        if self.caller.speaking {
            return;
        }
        if has_text {
            let quiet_since = self.caller.speech_ended.max(self.caller.last_words_at);
            if silent_for(quiet_since) >= self.cfg.timing.end_of_turn_fallback {
                self.end_of_user_turn(now);
            }
            return;
        }
        self.caller.turn_complete = false;
        let wait = self.cfg.reprompt_after;
        let quiet_since = match (self.last_agent_end, self.caller.speech_ended) {
            (Some(a), Some(c)) => a.max(c),
            (a, c) => a.or(c).unwrap_or(now),
        };
        if now.saturating_duration_since(quiet_since) < wait {
            return;
        }
        if self.reprompts < self.cfg.hang_up_after_reprompts {
            self.reprompts += 1;
            let line = self.cfg.lines.reprompt.clone();
            self.say(line, TurnKind::Fixed, false, now);
        } else {
            self.verdict.propose(ConversationOutcome::NoResponse);
            let line = self.cfg.lines.not_qualified.clone();
            self.say(line, TurnKind::Fixed, true, now);
        }
    }

    fn end_of_user_turn(&mut self, now: Instant) {
        let text = std::mem::take(&mut self.caller.text).trim().to_string();
        self.caller.interim.clear();
        self.caller.turn_complete = false;
        if text.is_empty() {
            return;
        }
        self.reprompts = 0;
        self.user_turns += 1;
        self.record(Speaker::Caller, text.clone(), false, None);
        self.history.push(ChatMessage::text("user", text));
        if self.user_turns >= self.cfg.max_turns {
            self.drop_speculation();
            let line = self.cfg.lines.not_qualified.clone();
            self.say(line, TurnKind::Fixed, true, now);
            return;
        }
        let speech_end = if self.caller.speaking {
            None
        } else {
            self.caller.speech_ended
        };
        let mut turn = self.new_turn(TurnKind::Answer, now);
        turn.times.speech_end = speech_end.or(Some(now));
        turn.times.final_at = Some(now);
        self.agent = Some(turn);
        let words = self.history.last().and_then(|m| m.content.clone());
        if !self.adopt_speculation(words.as_deref().unwrap_or_default(), now) {
            self.generate(now);
        }
    }
}
