//! What a call shows of itself while it runs: its state for `/debug/sessions` and the
//! console's live view (`GetCallState`), and its session for the mirror (`REDIS_URL`).

use actix::prelude::*;
use serde_json::{json, Value};

use super::CallActor;
use crate::session_mirror::snapshot::{fact_or_lead, waiting_for_response, SessionSnapshot};

impl CallActor {
    /// Hands the session to the mirror (`REDIS_URL`) when its stage, transcript or facts
    /// changed since the last time: a clone and a short lock, never Redis itself.
    pub(super) fn mirror_session(&mut self) {
        let mirror = &self.s.engine.session_mirror;
        if !mirror.is_enabled() || self.finished {
            return;
        }
        let stage = self.core.stage_name();
        let mark = (stage, self.session_edits);
        if self.mirrored == Some(mark) {
            return;
        }
        self.mirrored = Some(mark);
        let (lead, attempt) = (&self.s.lead, &self.s.attempt);
        let facts = &self.facts;
        mirror.publish(SessionSnapshot {
            call_sid: self.s.call_sid.clone(),
            lead_id: lead.id,
            lead_name: lead.name.clone(),
            lead_phone: lead.phone.clone(),
            property_type: fact_or_lead(facts, "property_type", &lead.property_type),
            location: fact_or_lead(facts, "location", &lead.location),
            budget: fact_or_lead(facts, "budget", &lead.budget),
            conversation_stage: stage,
            transcript_history: self.transcript.clone(),
            waiting_for_response: waiting_for_response(stage),
            last_interaction_time: self.s.engine.clock.now(),
            campaign_id: attempt.campaign_id,
            scheduled_call_id: attempt.scheduled_call_id,
            node_id: self.s.engine.settings.node_id.clone(),
            started_at: self.started_at,
            facts: facts.clone(),
        });
    }

    pub(super) fn state(&self) -> Value {
        use crate::call::messages::Child;
        json!({
            "stage": self.core.stage_name(),
            "turn": self.transcript.len(),
            "speaking": self.core.who_speaks(),
            "facts": self.facts,
            "transferring": self.handoff.requested(),
            "children": {
                "stt": {"restarts": self.core.restarts(Child::Stt)},
                "llm": {"restarts": self.core.restarts(Child::Llm)},
                "tts": {"restarts": self.core.restarts(Child::Tts)},
            },
            "last_latency": self.last_latency,
            "dropped_audio_chunks": self.dropped_audio,
            // The console's live view shows the conversation as it grows; the tail is enough
            // (the whole transcript is saved when the call ends).
            "transcript": &self.transcript[self.transcript.len().saturating_sub(LIVE_TRANSCRIPT_TURNS)..],
        })
    }
}

/// How many of the latest turns `GetCallState` carries.
const LIVE_TRANSCRIPT_TURNS: usize = 8;

/// `GET /debug/sessions`: the call's live state.
#[derive(Message)]
#[rtype(result = "Value")]
pub struct GetCallState;

impl Handler<GetCallState> for CallActor {
    type Result = MessageResult<GetCallState>;
    fn handle(&mut self, _: GetCallState, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state())
    }
}
