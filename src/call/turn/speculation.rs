//! Speculative generation: the LLM starts before the caller's turn is over.
//!
//! The end of a turn waits for the recogniser's final, which comes a round trip after our
//! `Finalize` (or after its own endpointing silence). The caller's words are mostly known
//! before that, from the final words so far and the latest interim. So when our VAD hears the
//! caller stop (and again on each later interim that changes the words), the LLM is asked at
//! once with those words; its answer is *held*: nothing of it is spoken, synthesised or
//! applied (tool calls included).
//!
//! When the turn ends, a speculation that answered the same words (case, punctuation and
//! spacing aside) becomes the turn's answer: what it held is replayed as if it had just
//! arrived, and the LLM's time is counted from when it was really asked. Words that differ
//! materially (any word added, dropped or changed) cancel it and the answer is asked for
//! again: an invalidated answer is never heard. A caller who speaks again drops it at once.

use std::time::Instant;

use super::agent_turn::TurnKind;
use super::commands::Command;
use super::core::{Stage, TurnTaking};
use crate::providers::openai::{ChatMessage, LlmDelta};

/// An answer asked for before the caller's turn is over, held until it is confirmed.
#[derive(Debug)]
pub(super) struct Speculation {
    pub generation: u64,
    /// The caller's words it answers, as sent to the LLM.
    pub words: String,
    pub asked_at: Instant,
    /// What the LLM said so far, with when: not played before it is adopted.
    pub held: Vec<(LlmDelta, Instant)>,
    /// When the LLM finished it.
    pub done: Option<Instant>,
}

/// What the LLM reported about a generation.
pub(super) enum LlmReport {
    Delta(LlmDelta),
    Done,
    Failed,
}

/// The same words, whatever their case, punctuation and spacing.
fn same_words(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    words(a) == words(b)
}

impl TurnTaking {
    /// The caller's words so far: final words of the turn and the latest interim after them.
    fn words_so_far(&self) -> String {
        format!("{} {}", self.caller.text, self.caller.interim)
            .trim()
            .to_string()
    }

    /// The caller is quiet with words pending: ask for the answer to them now.
    pub(super) fn speculate(&mut self, now: Instant) {
        let quiet_turn = self.stage == Stage::Talking
            && self.agent.is_none()
            && !self.caller.speaking
            && !self.caller.ignore_until_new_speech;
        // The turn that reaches `max_turns` closes rather than answers.
        if !self.cfg.speculate || !quiet_turn || self.user_turns + 1 >= self.cfg.max_turns {
            return;
        }
        let words = self.words_so_far();
        if words.is_empty()
            || self
                .speculation
                .as_ref()
                .is_some_and(|s| same_words(&s.words, &words))
        {
            return;
        }
        if self.speculation.take().is_some() {
            // Replaced by the new request below (the LLM runs one generation at a time).
            self.emit(Command::SpeculationSettled { adopted: false });
        }
        self.generation += 1;
        let generation = self.generation;
        let mut messages = self.history.clone();
        messages.push(ChatMessage::text("user", words.clone()));
        self.speculation = Some(Speculation {
            generation,
            words,
            asked_at: now,
            held: Vec::new(),
            done: None,
        });
        self.emit(Command::Generate {
            generation,
            messages,
        });
    }

    /// The speculation is wrong or moot (the caller went on, the call moved on): cancel it.
    pub(super) fn drop_speculation(&mut self) {
        if self.speculation.take().is_none() {
            return;
        }
        // Not when an answer was asked for since: the LLM runs the latest request alone, and
        // that one is the answer's.
        let answering = self
            .agent
            .as_ref()
            .is_some_and(|t| t.kind == TurnKind::Answer);
        if !answering {
            self.emit(Command::CancelGeneration);
        }
        self.emit(Command::SpeculationSettled { adopted: false });
    }

    /// Whether `generation` is the speculation's (its reports go to `hold_speculative`).
    pub(super) fn is_speculative(&self, generation: u64) -> bool {
        self.speculation
            .as_ref()
            .is_some_and(|s| s.generation == generation)
    }

    /// Holds what the LLM says for the speculation.
    pub(super) fn hold_speculative(&mut self, report: LlmReport, now: Instant) {
        let Some(s) = self.speculation.as_mut() else {
            return;
        };
        match report {
            LlmReport::Delta(delta) => s.held.push((delta, now)),
            LlmReport::Done => s.done = Some(now),
            // Nothing was heard: the turn's end asks again (with the usual failure rules).
            LlmReport::Failed => {
                self.speculation = None;
                self.emit(Command::SpeculationSettled { adopted: false });
            }
        }
    }

    /// The caller's turn ended with `words` and the agent's answer turn is set up: the
    /// speculation becomes its answer if it answered those words (`true`: what it held is
    /// replayed). Otherwise it is dropped, and the caller asks the LLM, which replaces it.
    pub(super) fn adopt_speculation(&mut self, words: &str, now: Instant) -> bool {
        let Some(s) = self.speculation.take() else {
            return false;
        };
        let adopted = same_words(&s.words, words);
        self.emit(Command::SpeculationSettled { adopted });
        let Some(turn) = self.agent.as_mut().filter(|_| adopted) else {
            return false;
        };
        turn.generation = s.generation;
        turn.times.speculated = true;
        turn.times.llm_request_at = Some(s.asked_at);
        turn.asked_at = Some(s.asked_at);
        for (delta, at) in s.held {
            self.on_llm_delta(s.generation, delta, at);
        }
        if let Some(done_at) = s.done {
            self.on_llm_done(s.generation, done_at);
        }
        // Its first clause goes to TTS now, not when its words came.
        if let Some(turn) = self.agent.as_mut() {
            let first_clause = &mut turn.times.first_clause_at;
            *first_clause = first_clause.map(|at| at.max(now));
        }
        true
    }

    /// A speculation left behind by a call that moved on (a machine, the time limit, the
    /// end) is cancelled.
    pub(super) fn speculation_tick(&mut self) {
        if self.speculation.is_some() && self.stage != Stage::Talking {
            self.drop_speculation();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_words;

    #[test]
    fn words_are_compared_without_case_punctuation_or_spacing() {
        assert!(same_words("My budget is 80 lakh.", "my budget is  80 lakh"));
        assert!(same_words("Haan ji, 2BHK", "haan ji 2bhk"));
        assert!(!same_words("my budget is", "my budget is 80 lakh"));
        assert!(!same_words("in pune", "in puna"));
        assert!(!same_words("", "yes"));
    }
}
