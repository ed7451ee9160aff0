//! The Exotel media socket: the wire protocol (`protocol.rs`), PCM helpers (`audio.rs`), the
//! energy VAD (`vad.rs`), the socket actor that is each call's edge (`socket.rs`) and the
//! recording it makes of the call (`recording/`).

pub mod audio;
pub mod playout;
pub mod protocol;
pub mod recording;
pub mod socket;
pub mod vad;
