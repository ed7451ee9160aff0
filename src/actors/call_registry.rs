//! The call registry: `call_sid` → the live call. Writes go through the actor, so they are
//! ordered; reads on the hot path go straight to the `DashMap` the actor owns (clone the entry
//! out, never hold a guard across an await).

use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::call::CallActor;
use crate::domain::CallStatus;

/// A call placed by this node and not yet ended: registered on a successful dial, or, for a call
/// adopted after its dial was not recorded, when its conversation starts (`Attach`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveCall {
    pub call_sid: String,
    pub campaign_id: i64,
    pub lead_id: i64,
    pub scheduled_call_id: i64,
    pub attempt: i64,
    pub lead_name: String,
    pub phone: String,
    pub status: CallStatus,
    pub dialed_at: DateTime<Utc>,
    /// The call's actor, once its media socket is up; the call's end is then its to decide.
    #[serde(skip)]
    pub actor: Option<Addr<CallActor>>,
}

/// The registry actor. It has no children and nothing to restart: its state is the map.
pub struct CallRegistry {
    calls: Arc<DashMap<String, LiveCall>>,
}

impl Actor for CallRegistry {
    type Context = Context<Self>;
}

/// Adds a call (on a successful dial).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Register(pub LiveCall);

/// Removes a call (on its end, whoever reports it first; a second removal does nothing).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister(pub String);

/// Attaches the call's actor when its media session starts. The call comes with what its actor
/// knows of it: a call adopted after an unreadable dial answer (by a status callback, its media
/// socket or Exotel's call list) was never registered, and is entered now, so the shutdown
/// drain waits for its conversation and status callbacks see its media is live.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Attach(pub LiveCall);

impl Handler<Attach> for CallRegistry {
    type Result = ();
    fn handle(&mut self, msg: Attach, _: &mut Context<Self>) {
        let call = msg.0;
        match self.calls.get_mut(&call.call_sid) {
            Some(mut known) => known.actor = call.actor,
            None => {
                tracing::info!(call_sid = %call.call_sid, "a call adopted without a recorded dial joins the registry");
                self.calls.insert(call.call_sid.clone(), call);
            }
        }
    }
}

/// Updates a call's status (ringing, answered).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetStatus(pub String, pub CallStatus);

impl Handler<Register> for CallRegistry {
    type Result = ();
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        self.calls.insert(msg.0.call_sid.clone(), msg.0);
    }
}

impl Handler<Unregister> for CallRegistry {
    type Result = ();
    fn handle(&mut self, msg: Unregister, _: &mut Context<Self>) {
        self.calls.remove(&msg.0);
    }
}

impl Handler<SetStatus> for CallRegistry {
    type Result = ();
    fn handle(&mut self, msg: SetStatus, _: &mut Context<Self>) {
        if let Some(mut call) = self.calls.get_mut(&msg.0) {
            call.status = msg.1;
        }
    }
}

/// What the rest of the runtime holds: the actor's address for writes, its map for reads.
#[derive(Clone)]
pub struct CallRegistryHandle {
    addr: Addr<CallRegistry>,
    calls: Arc<DashMap<String, LiveCall>>,
}

impl CallRegistryHandle {
    /// Starts the registry actor on the current arbiter.
    pub fn start() -> CallRegistryHandle {
        let calls = Arc::new(DashMap::new());
        let addr = CallRegistry {
            calls: calls.clone(),
        }
        .start();
        CallRegistryHandle { addr, calls }
    }

    // Registry writes are control messages: `do_send` never drops them for a full mailbox.
    pub fn register(&self, call: LiveCall) {
        self.addr.do_send(Register(call));
    }

    pub fn unregister(&self, call_sid: &str) {
        self.addr.do_send(Unregister(call_sid.to_string()));
    }

    /// `call.actor` is the conversation's actor; the rest is used only if the call is unknown.
    pub fn attach(&self, call: LiveCall) {
        self.addr.do_send(Attach(call));
    }

    pub fn set_status(&self, call_sid: &str, status: CallStatus) {
        self.addr.do_send(SetStatus(call_sid.to_string(), status));
    }

    pub fn lookup(&self, call_sid: &str) -> Option<LiveCall> {
        self.calls.get(call_sid).map(|c| c.value().clone())
    }

    /// Every live call, oldest dial first (`GET /debug/sessions`).
    pub fn list(&self) -> Vec<LiveCall> {
        let mut calls: Vec<LiveCall> = self.calls.iter().map(|c| c.value().clone()).collect();
        calls.sort_by_key(|c| c.dialed_at);
        calls
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}
