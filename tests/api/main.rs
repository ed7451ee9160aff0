//! The integration-test binary: every test starts the real application on a random loopback
//! port, against SQLite and against PostgreSQL (`both_backends!`).

mod helpers;

mod analytics;
mod auth;
mod benches;
mod campaigns;
mod engine;
mod engine_support;
mod exports;
mod health;
mod leads;
mod live_call;
mod live_support;
mod media_replay;
mod media_socket;
mod planning_race;
mod process_support;
mod sandbox;
mod shutdown;
mod spool;
mod upload;
