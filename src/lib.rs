//! voice-runtime: an actor-model AI voice runtime for outbound calling campaigns.
//!
//! The folders follow the architecture: `api` (REST), `store` (the only SQL), `domain` (types
//! parsed once), `leads` (CSV import), `conversation` (playbooks), `config`, and the actors,
//! telephony, media socket, providers and sandbox as later issues add them. `actors.md` at the
//! repository root is the map of the actor tree.

pub mod actors;
pub mod api;
pub mod api_client;
pub mod bench;
pub mod call;
pub mod chaos;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod console;
pub mod conversation;
pub mod domain;
pub mod handoff;
#[cfg(test)]
mod input_properties;
pub mod leads;
pub mod media;
pub mod outbound_webhooks;
pub mod providers;
pub mod sandbox;
pub mod scheduling;
pub mod session_mirror;
pub mod signing;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod telemetry_metrics;
pub mod telephony;
