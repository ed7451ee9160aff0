//! The greeting and the callee's "Hello?".
//!
//! People answer the phone by saying "Hello?". Greeting at once talks over it, and treating it
//! as a barge-in cuts the greeting and makes the LLM answer "Hello?". The rule:
//! - after pick-up the agent waits: it greets when the callee's first utterance ends, or after
//!   `pickup_silence` (~1 s) with no speech, or at `pickup_cap` (~3 s) whatever;
//! - what the callee said before the greeting is not a turn: its transcripts are dropped until
//!   they speak again;
//! - during the greeting's first `greeting_grace` (~1 s of its audio), speech interrupts only
//!   if it is long (`greeting_long_speech`); a second "Hello?" does not cut the greeting.

use std::time::Instant;

use super::agent_turn::TurnKind;
use super::core::{Stage, TurnTaking};

impl TurnTaking {
    pub(super) fn pickup_tick(&mut self, now: Instant) {
        if self.stage != Stage::Pickup {
            return;
        }
        let Some(started) = self.started else {
            return;
        };
        let t = &self.cfg.timing;
        let waited = now.saturating_duration_since(started);
        let greet = if waited >= t.pickup_cap {
            true
        } else if self.caller.speaking {
            false
        } else if self.caller.spoke_at_pickup {
            // Their "Hello?" is over.
            true
        } else {
            waited >= t.pickup_silence
        };
        if greet {
            self.greet(now);
        }
    }

    fn greet(&mut self, now: Instant) {
        self.stage = Stage::Talking;
        // The transcript of the "Hello?" arrives after this: it is not a turn.
        self.caller.ignore_until_new_speech = self.caller.spoke_at_pickup || self.caller.speaking;
        self.caller.text.clear();
        self.caller.interim.clear();
        self.caller.turn_complete = false;
        let greeting = self.cfg.lines.greeting.clone();
        self.say(greeting, TurnKind::Greeting, false, now);
    }

    /// Whether speech that started at `speech_started` and has lasted `lasted` may interrupt
    /// the agent's current turn: by its sound alone (a hold), or by its words.
    pub(super) fn speech_may_interrupt(
        &self,
        speech_started: Option<Instant>,
        lasted: std::time::Duration,
        by_words: bool,
    ) -> bool {
        let Some(turn) = self.agent.as_ref() else {
            return false;
        };
        if turn.close_after || self.stage != Stage::Talking {
            return false;
        }
        let Some(audio) = turn.audio_started() else {
            return false;
        };
        let Some(speech) = speech_started else {
            // Words without our VAD hearing them (a quiet line): the words decide.
            return true;
        };
        // Sound that began before the caller could hear the agent is not an interruption
        // (their words still are).
        if speech < audio && !by_words {
            return false;
        }
        let t = &self.cfg.timing;
        if turn.kind == TurnKind::Greeting && speech < audio + t.greeting_grace {
            return lasted >= t.greeting_long_speech;
        }
        true
    }
}
