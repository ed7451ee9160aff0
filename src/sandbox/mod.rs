//! The sandbox: stand-ins for the outside world that speak its exact wire protocols, so the
//! product runs whole with no credentials and tests exercise the real clients.

pub mod exotel;
pub mod fakes;
pub mod latency_stages;
pub mod persona;
pub mod run;
pub mod voice_codec;
pub mod websocket_buffers;
