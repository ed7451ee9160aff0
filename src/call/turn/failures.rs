//! When the agent is late or a provider fails.
//!
//! - The LLM's first token is late (`late_first_token`, 1.5 s by default), or an answer is
//!   still unheard that long after it began (a slow first byte from TTS), or a clause has
//!   played and the next has not come for `late_next_clause` (1 s): the agent says the
//!   pre-rendered "one moment" line, once per turn. No first token by `first_token_deadline`
//!   (3.5 s): the generation is cancelled and counts as a failed turn (below), whatever the LLM
//!   client's own deadlines — the caller never waits for the agent in silence for long.
//! - A turn fails (the LLM or TTS reports a `ProviderError`, a stream deadline included): the
//!   first time, the agent says "one moment" (again, if need be: a brief apology) and retries
//!   after the child's backoff — a new generation that is told what was already said and
//!   does not say it again, or the unsynthesised clauses again; the second time, it closes.
//! - A child restarts too often (`RestartPolicy`: 3 in 60 s), or a provider refuses us for
//!   good (`is_permanent`: 401/403, quota): the agent stops, plays the apology (pre-rendered,
//!   or synthesised at call start), hangs up, and the outcome is `error`. A permanent error
//!   also pauses the campaign, naming the provider.

use std::time::Instant;

use super::agent_turn::TurnKind;
use super::commands::{Command, Line};
use super::core::{Stage, TurnTaking};
use super::restart::RestartDecision;
use crate::call::messages::Child;
use crate::call::transcript::Speaker;
use crate::providers::error::{Provider, ProviderError};

fn child_of(provider: Provider) -> Child {
    match provider {
        Provider::Deepgram => Child::Stt,
        Provider::OpenAi => Child::Llm,
        Provider::ElevenLabs => Child::Tts,
    }
}

impl TurnTaking {
    /// The LLM or TTS failed the current turn.
    pub(super) fn turn_failed(&mut self, error: &ProviderError, now: Instant) {
        if error.is_permanent() {
            self.give_up(Some(error), now);
            return;
        }
        let backoff = self
            .restarts
            .get(&child_of(error.provider))
            .map(|w| w.backoff())
            .unwrap_or_default();
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        turn.failures += 1;
        if turn.failures >= 2 {
            self.give_up(None, now);
            return;
        }
        if error.provider != Provider::OpenAi {
            turn.respeak_at = Some(now + backoff);
        } else {
            turn.retry_at = Some(now + backoff);
            // A new generation; what was queued of this one is not said again.
            self.generation += 1;
            turn.generation = self.generation;
            turn.said_before_retry = turn
                .clauses
                .iter()
                .filter(|c| !c.filler)
                .map(|c| c.text.clone())
                .collect();
        }
        // A brief apology for the wait, even if the turn said "one moment" already.
        if let Some(turn) = self.agent.as_mut() {
            turn.one_moment_said = false;
        }
        self.say_one_moment(now);
    }

    /// Says the "one moment" line in the current turn if it exists, was not said yet in this
    /// turn (or since its failure), and the caller would otherwise hear nothing.
    fn say_one_moment(&mut self, now: Instant) {
        let Some(samples) = self.cfg.prerendered.one_moment else {
            return;
        };
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        let playing = turn.playout_end.is_some_and(|end| end > now);
        if turn.one_moment_said || playing || self.caller.speaking {
            return;
        }
        turn.one_moment_said = true;
        let text = self.cfg.lines.one_moment.clone();
        self.play_line(Line::OneMoment, text, samples, true, now);
    }

    /// Retries that are due; the late first token.
    pub(super) fn failures_tick(&mut self, now: Instant) {
        if !matches!(self.stage, Stage::Talking | Stage::Closing) {
            return;
        }
        let late = self.cfg.timing.late_first_token;
        let late_next_clause = self.cfg.timing.late_next_clause;
        let deadline = self.cfg.timing.first_token_deadline;
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        if turn.retry_at.is_some_and(|at| now >= at) {
            turn.retry_at = None;
            self.generate(now);
            return;
        }
        if turn.respeak_at.is_some_and(|at| now >= at) {
            turn.respeak_at = None;
            // Synthesise again what TTS did not finish.
            let again: Vec<(u64, String)> = turn
                .clauses
                .iter()
                .filter(|c| !c.tts_done)
                .map(|c| (c.id, c.text.clone()))
                .collect();
            for (clause, text) in again {
                self.emit(Command::Speak { clause, text });
            }
            return;
        }
        let waited = turn
            .asked_at
            .filter(|_| !turn.answering && !turn.llm_done)
            .map(|at| now.saturating_duration_since(at));
        // The caller hears nothing of the answer yet, whichever provider is late: a first
        // token in time followed by a slow first byte from TTS is just as silent.
        let unheard = turn.kind == TurnKind::Answer
            && !turn.audible()
            && now.saturating_duration_since(turn.started) >= late;
        // Or a clause played and the next one has not come (TTS or the LLM stalls mid-answer).
        let more_to_come = !turn.llm_done || turn.clauses.iter().any(|c| !c.tts_done && !c.filler);
        let stalled = turn.kind == TurnKind::Answer
            && more_to_come
            && turn
                .playout_end
                .is_some_and(|end| now.saturating_duration_since(end) >= late_next_clause);
        if waited.is_some_and(|w| w >= deadline) {
            turn.asked_at = None;
            self.emit(Command::CancelGeneration);
            let error = ProviderError::timeout(Provider::OpenAi, "no first token in time");
            self.turn_failed(&error, now);
        } else if unheard || stalled || waited.is_some_and(|w| w >= late) {
            self.say_one_moment(now);
        }
    }

    pub(super) fn on_child_failed(&mut self, child: Child, error: &ProviderError, now: Instant) {
        if error.is_permanent() {
            self.give_up(Some(error), now);
            return;
        }
        let decision = self
            .restarts
            .get_mut(&child)
            .map(|w| w.record(now))
            .unwrap_or(RestartDecision::GiveUp);
        if decision == RestartDecision::GiveUp {
            self.give_up(None, now);
        }
    }

    /// The call cannot go on: stop the agent, apologise, hang up. A permanent provider error
    /// also pauses the campaign.
    pub(super) fn give_up(&mut self, permanent: Option<&ProviderError>, now: Instant) {
        if matches!(self.stage, Stage::GivingUp | Stage::Ended) {
            return;
        }
        if let Some(error) = permanent {
            self.emit(Command::PauseCampaign {
                reason: format!(
                    "{} refused the call's requests ({:?}): {}; fix the account and resume",
                    error.provider, error.kind, error.message
                ),
            });
        }
        self.verdict.failed();
        self.silence_agent();
        self.cut_agent(now, now);
        self.voicemail = None;
        self.stage = Stage::GivingUp;
        self.generation += 1;
        if let Some(_samples) = self.apology_samples {
            let text = self.cfg.lines.apology.clone();
            self.next_turn += 1;
            let turn = self.next_turn;
            self.emit(Command::PlayLine {
                turn,
                line: Line::Apology,
            });
            self.record(Speaker::Agent, text, false, None);
        }
        self.emit(Command::HangUp);
    }
}
