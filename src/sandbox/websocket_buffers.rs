//! The WebSocket buffers of the sandbox's own sockets (the phones, the fake Deepgram).
//!
//! tungstenite grows its read buffer to `read_buffer_size` and zeroes it on **every** read,
//! the reads that find nothing included: with the default 128 KiB, a thousand phones zeroed
//! gigabytes a second, a tenth of the load generator's time (a `memset` under
//! `BytesMut::resize`, found by profiling `bench`), and the generator fell behind before the
//! server did. The messages are small (a 100 ms media chunk is ~2.3 KB of JSON); a larger one
//! takes more reads. The server's own Deepgram client sizes its buffers the same way.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read and write buffers of 8 KiB.
pub fn small() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
}
