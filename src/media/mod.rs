//! The Exotel media socket: the wire protocol (`protocol.rs`), PCM helpers (`audio.rs`), the
//! energy VAD (`vad.rs`) and the socket actor that is each call's edge (`socket.rs`).

pub mod audio;
pub mod protocol;
pub mod socket;
pub mod vad;
