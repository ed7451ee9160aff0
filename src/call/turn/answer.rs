//! The agent's answers: asking the LLM, cutting its stream into clauses, tool rounds. A
//! retried generation is sent what the caller already heard of the turn, and its clauses that
//! repeat it are not spoken again; the assistant's tool calls go into the history before their
//! results, its words when they have been heard (`core::check_turn_done`, `core::cut_agent`).

use std::time::Instant;

use super::commands::Command;
use super::core::TurnTaking;
use crate::call::clauses::ClauseSplitter;
use crate::providers::openai::{ChatMessage, LlmDelta};

impl TurnTaking {
    /// Asks the LLM for the current turn. After a failure, what was already said of the turn
    /// goes with the request (and is not said again).
    pub(super) fn generate(&mut self, now: Instant) {
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        let mut messages = self.history.clone();
        let said = turn.full_text();
        if !said.is_empty() {
            messages.push(ChatMessage::text("assistant", said));
        }
        turn.times.llm_request_at.get_or_insert(now);
        turn.asked_at = Some(now);
        turn.answering = false;
        turn.llm_done = false;
        turn.llm_text.clear();
        turn.splitter = ClauseSplitter::default();
        let generation = turn.generation;
        self.emit(Command::Generate {
            generation,
            messages,
        });
    }

    pub(super) fn on_llm_delta(&mut self, generation: u64, delta: LlmDelta, now: Instant) {
        if self.current_generation() != Some(generation) {
            return;
        }
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        turn.times.first_token_at.get_or_insert(now);
        turn.answering = true;
        match delta {
            LlmDelta::Text(text) => {
                turn.llm_text.push_str(&text);
                let pieces = turn.splitter.push(&text);
                for piece in pieces {
                    self.queue_answer_clause(piece, now);
                }
            }
            LlmDelta::ToolCall(call) => turn.tool_calls.push(call),
        }
    }

    /// Queues a clause of the LLM's answer, unless a retried generation repeats one the
    /// caller already heard.
    fn queue_answer_clause(&mut self, text: String, now: Instant) {
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        let norm = |s: &str| s.trim().to_lowercase();
        if let Some(i) = turn
            .said_before_retry
            .iter()
            .position(|s| norm(s) == norm(&text))
        {
            turn.said_before_retry.remove(i);
            return;
        }
        turn.times.first_clause_at.get_or_insert(now);
        self.queue_clause(text, false);
    }

    pub(super) fn on_llm_done(&mut self, generation: u64, now: Instant) {
        if self.current_generation() != Some(generation) {
            return;
        }
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        turn.llm_done = true;
        turn.said_before_retry.clear();
        let rest = turn.splitter.finish();
        let calls = std::mem::take(&mut turn.tool_calls);
        let had_text = !turn.llm_text.trim().is_empty();
        if let Some(rest) = rest {
            self.queue_answer_clause(rest, now);
        }
        if calls.is_empty() {
            return;
        }
        if let Some(turn) = self.agent.as_mut() {
            turn.awaiting_tools = Some(had_text);
        }
        // The assistant's tool calls go before their results; its words go in when heard.
        self.history.push(ChatMessage {
            role: "assistant".into(),
            content: None,
            tool_calls: calls.clone(),
            tool_call_id: None,
        });
        self.emit(Command::ApplyTools { calls });
    }

    pub(super) fn on_tools_applied(
        &mut self,
        results: Vec<(String, String)>,
        close: bool,
        closing_line: String,
        handoff_line: Option<String>,
        now: Instant,
    ) {
        for (id, result) in results {
            self.history.push(ChatMessage::tool_result(&id, result));
        }
        let max_rounds = self.cfg.max_tool_rounds;
        let Some(turn) = self.agent.as_mut() else {
            return;
        };
        let had_text = turn.awaiting_tools.take().unwrap_or(false);
        turn.close_after |= close;
        let closing = turn.close_after;
        if !had_text && !closing && turn.tool_rounds < max_rounds {
            // Tools only: ask again with their results so the agent says something.
            turn.tool_rounds += 1;
            turn.times.llm_rounds += 1;
            self.generation += 1;
            turn.generation = self.generation;
            self.generate(now);
            return;
        }
        // The hand-off line is the caller's cue that a person is coming: always said, in
        // full (the turn ends on its last mark), whatever the model said before it.
        let line = match handoff_line {
            Some(line) => Some(line),
            None if closing && !had_text => Some(closing_line),
            None => None,
        };
        if let Some(line) = line {
            let mut splitter = ClauseSplitter::default();
            let mut pieces = splitter.push(&format!("{line} "));
            pieces.extend(splitter.finish());
            for piece in pieces {
                self.queue_clause(piece, false);
            }
        }
    }
}
