//! The integration-test binary: every test starts the real application on a random loopback
//! port, against SQLite and against PostgreSQL (`both_backends!`).

mod helpers;

mod actor_lifecycle;
mod analytics;
mod auth;
mod benches;
mod browser_support;
mod campaigns;
mod chaos;
mod cluster;
mod cluster_processes;
mod cluster_views;
mod console;
mod console_browser;
mod dialing_safety;
mod engine;
mod engine_support;
mod exports;
mod fallback_audio;
mod handoff;
mod health;
mod inputs;
mod latency;
mod leads;
mod live_call;
mod live_support;
mod media_replay;
mod media_socket;
mod openapi;
mod opt_out;
mod personas;
mod planning_race;
mod process_support;
mod provider_faults;
mod recordings;
mod regulatory_hours;
mod sandbox;
mod serve_binary;
mod shutdown;
mod speculation;
mod spool;
mod suppressions;
mod upload;
mod voicemail;
mod webhooks;
