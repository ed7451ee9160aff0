//! Outbound webhooks: a campaign's `webhook_url` hears `call.ended` for each of its calls,
//! signed (`signature`), from a durable outbox in the database (`store::webhooks`), sent and
//! retried with backoff by every node's `sender`.

pub mod sender;
pub mod signature;

pub use sender::{spawn_sender, SenderSettings};
