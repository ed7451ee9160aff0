//! The cluster seen as one system. Coordination itself goes through the database (claims,
//! caps, membership: `store::nodes`, `actors::membership`); what lives here is the views: each
//! node answers for its own part (`?scope=node`), and the node an operator asks gathers the
//! others' parts from the URLs they heart-beat (`NODE_URL`).

pub mod peers;
pub mod views;

pub use peers::{PeerAnswer, Peers};
