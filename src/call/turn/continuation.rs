//! The caller was not finished.
//!
//! To answer fast, a caller's turn ends early: our VAD hears silence and asks the recogniser
//! to `Finalize` at once, and the recogniser's own endpointing is short (300 ms). A breath in
//! the middle of a sentence ("my budget is … 80 lakh") then ends the turn too soon. So:
//! - when our VAD hears the caller stop while the agent is quiet, the core asks for the final
//!   now (`Command::FinalizeTranscript`), and a final that answers it ends the turn if the
//!   caller is still quiet;
//! - a caller who speaks again before hearing any of the answer to their words was not
//!   finished: the answer is dropped unheard (generation and synthesis cancelled), their last
//!   transcript entry is taken back, and their words go on as one turn;
//! - a caller whose words come over the answer, from speech that began within
//!   `continuation_window` of the end of their last words, is continuing too (however short
//!   the words: no hold or barge-in threshold applies): the answer's first words are cleared
//!   and dropped from the transcript and the LLM's history, not kept as "interrupted";
//! - that window is the silence in the caller's audio, as the VAD counted it in samples: by
//!   the clock, 100 ms chunks and any delay in delivering them stretch a 750 ms breath past
//!   it, and the sentence is answered in halves;
//! - an answer that plays out while such speech goes on is not over until its words come
//!   (they take it back) or `hold_timeout` after it ended without any (a noise);
//! - a recogniser's `speech_final` that comes while the caller speaks again after such a
//!   breath is late for the words before it (`went_on_after_a_breath`): no answer is
//!   asked for half a sentence, the end of the speech that follows ends the turn.
//!
//! Only an answer with no tool round and no failure is taken back: one whose tool calls were
//! applied is part of the conversation already.

use std::time::Instant;

use super::agent_turn::TurnKind;
use super::commands::Command;
use super::core::{Stage, TurnTaking};

impl TurnTaking {
    /// Our VAD heard the caller stop: ask for the final now, if it is the caller's turn.
    pub(super) fn finalize_on_silence(&mut self) {
        if self.stage == Stage::Talking && self.agent.is_none() && self.cfg.finalize_on_silence {
            self.emit(Command::FinalizeTranscript);
        }
    }

    /// The caller started speaking: an answer they have not heard yet is taken back.
    pub(super) fn continue_if_unheard(&mut self) {
        if self
            .agent
            .as_ref()
            .is_some_and(|t| t.kind == TurnKind::Answer && !t.audible())
        {
            self.take_back_answer();
        }
    }

    /// The caller is speaking again after a silence shorter than `continuation_window` (by
    /// their audio): a `speech_final` now is late for the words before that breath (the
    /// answer to our `Finalize` had none of them yet, or the final took a provider's slow
    /// tail), and answering them would answer half a sentence. The turn ends with the end of
    /// the speech that follows: the answer to the `Finalize` its silence asks for, its own
    /// `speech_final`, or `UtteranceEnd` if our VAD never hears it stop.
    pub(super) fn went_on_after_a_breath(&self) -> bool {
        self.caller.speaking
            && self
                .caller
                .resumed_after
                .is_some_and(|gap| gap < self.cfg.timing.continuation_window)
    }

    /// Whether speech that started at `started` continues the caller's last turn.
    pub(super) fn continues_last_turn(&self, started: Option<Instant>) -> bool {
        let Some(turn) = self.agent.as_ref() else {
            return false;
        };
        let (Some(started), Some(ended)) = (started, turn.times.speech_end) else {
            return false;
        };
        // How soon after their words: by the caller's audio when the VAD measured it. By
        // the clock, frames that came late or in a burst (jitter, a busy machine) stretch a
        // 750 ms breath past the window, and the caller's sentence is answered in halves.
        let gap = self
            .caller
            .resumed_after
            .unwrap_or_else(|| started.duration_since(ended));
        // New speech (not the words whose end began this answer), soon after them.
        turn.kind == TurnKind::Answer
            && started > ended
            && gap < self.cfg.timing.continuation_window
    }

    /// The caller went on, soon enough to continue their turn, over an answer that has now
    /// played out (a short "Sure." during their breath). Their words, when they come, take it
    /// back as they would have mid-answer, so it is not over yet: not until words came for
    /// this stretch of speech, or `hold_timeout` after it ended without any (a noise).
    pub(super) fn awaiting_continuation(&self, now: Instant) -> bool {
        let started = self.caller.speech_started;
        if !self.can_take_back() || !self.continues_last_turn(started) {
            return false;
        }
        let worded = self
            .caller
            .last_words_at
            .zip(started)
            .is_some_and(|(words, started)| words >= started);
        let within =
            |ended: Instant| now.saturating_duration_since(ended) < self.cfg.timing.hold_timeout;
        !worded && (self.caller.speaking || self.caller.speech_ended.is_some_and(within))
    }

    /// Whether the current answer may be taken back: nothing of it is part of the
    /// conversation yet (no tool round, no failure, no filler), and it answers the caller's
    /// last words.
    fn can_take_back(&self) -> bool {
        let Some(turn) = self.agent.as_ref() else {
            return false;
        };
        let untouched = turn.kind == TurnKind::Answer
            && turn.tool_rounds == 0
            && turn.awaiting_tools.is_none()
            && turn.tool_calls.is_empty()
            && turn.failures == 0
            && !turn.clauses.iter().any(|c| c.filler);
        let last_is_caller = self.history.last().is_some_and(|m| m.role == "user");
        self.stage == Stage::Talking && untouched && last_is_caller
    }

    /// Drops the current answer and gives the caller their words back. `false` when the
    /// answer cannot be taken back (a tool round, a failure): the caller interrupts it.
    pub(super) fn take_back_answer(&mut self) -> bool {
        if !self.can_take_back() {
            return false;
        }
        let said = self
            .history
            .pop()
            .and_then(|m| m.content)
            .unwrap_or_default();
        let heard = self.agent.take().is_some_and(|t| t.audible());
        self.hold = None;
        self.generation += 1;
        if heard {
            self.emit(Command::ClearAudio);
        }
        self.emit(Command::CancelGeneration);
        self.emit(Command::CancelSpeech);
        self.emit(Command::TakeBackCallerTurn);
        self.user_turns = self.user_turns.saturating_sub(1);
        let more = std::mem::take(&mut self.caller.text);
        self.caller.text = format!("{said} {more}").trim().to_string();
        self.caller.turn_complete = false;
        self.answers_taken_back += 1;
        true
    }
}
