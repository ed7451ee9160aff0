//! Call recording (`RECORDINGS_DIR`): the media socket records each call it carries as one
//! stereo WAV, `{RECORDINGS_DIR}/{call_sid}.wav` (the sid cleaned to `[A-Za-z0-9_-]`), 16-bit
//! PCM at the call's rate, the caller on the left and the agent on the right.
//!
//! The socket feeds a `CallRecorder` the caller's frames as they arrive and the agent's as they
//! are sent; the recorder lines them up (`timeline`, pure) and hands full 16 KiB buffers to the
//! call's `writer` task, which does the disk IO off the arbiter. Nothing on the audio path
//! waits for the disk: a buffer the writer has not taken yet is dropped (counted in
//! `voice_audio_dropped_total{where="recording"}`) and becomes silence in the file, never a
//! shift. A call keeps at most a buffer being filled, one queued, one being written and the
//! agent audio sent ahead (≤ 400 ms): under 64 KiB at 8 kHz.
//!
//! When the socket ends the file is finalised (header patched, synced), the call's session
//! gets its `recording_file`, and the call's save is told the name (so its `call.ended` event
//! links it). A process that dies mid-call leaves the file with a header that says 0 and no
//! `recording_file`: no API serves it; the audio in it can be recovered by hand.

mod timeline;
mod wav;
mod writer;

pub use timeline::StereoTimeline;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::domain::RecordingName;
use crate::store::Store;
use writer::WriterOp;

/// Interleaved bytes gathered before they go to the writer: 256 ms of stereo at 8 kHz.
const CHUNK_BYTES: usize = 16 * 1024;
/// Buffers waiting for the writer (besides the one it is writing).
const QUEUED_CHUNKS: usize = 1;
/// The most agent audio kept ahead of the caller's stream: the socket sends 100 ms ahead and
/// Exotel's frames come 100 ms at a time, so this is reached only when the caller's stream
/// stalls.
const MAX_AHEAD_MS: usize = 400;

/// Tells the call's save the recording's name once the file is complete (dropped unsent when
/// it could not be written).
pub type RecordingDone = oneshot::Receiver<RecordingName>;

/// One call's recording, owned by its media socket.
pub struct CallRecorder {
    timeline: StereoTimeline,
    /// Interleaved audio not yet handed to the writer.
    pending: Vec<u8>,
    /// Bytes handed to the writer (or dropped) so far: where `pending` starts in the data.
    handed: u64,
    writer: mpsc::Sender<WriterOp>,
    dropped_chunks: u64,
}

impl CallRecorder {
    /// Starts recording the call into `dir`; `None` when its sid makes no file name. The file
    /// is created by the writer task, so nothing here touches the disk.
    pub fn start(
        dir: &Path,
        call_sid: &str,
        sample_rate: u32,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Option<(CallRecorder, RecordingDone)> {
        let name = RecordingName::for_call(call_sid)?;
        let path = dir.join(name.as_str());
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        let (done_tx, done_rx) = oneshot::channel();
        let call_sid = call_sid.to_string();
        actix_rt::spawn(async move {
            match writer::run(path, sample_rate, rx).await {
                Ok(data_len) => {
                    // The save first (it may be waiting), then the session: whichever of the
                    // two writes lands, the call has its recording.
                    let _ = done_tx.send(name.clone());
                    match store
                        .set_recording_file(&call_sid, &name, clock.now())
                        .await
                    {
                        Ok(()) => {
                            tracing::debug!(%call_sid, bytes = data_len, "call recorded")
                        }
                        Err(e) => {
                            tracing::warn!(%call_sid, error = %e, "the recording is written but the database did not take its name")
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(%call_sid, error = %e, "the call's recording could not be written")
                }
            }
        });
        Some((CallRecorder::new(sample_rate, tx), done_rx))
    }

    fn new(sample_rate: u32, writer: mpsc::Sender<WriterOp>) -> CallRecorder {
        CallRecorder {
            timeline: StereoTimeline::new(sample_rate as usize * MAX_AHEAD_MS / 1000),
            pending: Vec::with_capacity(CHUNK_BYTES),
            handed: 0,
            writer,
            dropped_chunks: 0,
        }
    }

    /// The caller's audio, as it arrives.
    pub fn caller(&mut self, pcm: &[i16]) {
        if self.writing() {
            self.make_room(pcm.len());
            self.timeline.caller(pcm, &mut self.pending);
        }
    }

    /// The agent's audio, as it is sent.
    pub fn agent(&mut self, pcm: &[i16]) {
        if self.writing() {
            // At most this many frames come out (only when the caller's stream stalled).
            self.make_room(pcm.len());
            self.timeline.agent(pcm, &mut self.pending);
        }
    }

    /// Exotel was told to drop the agent audio it had not played.
    pub fn clear_agent(&mut self) {
        self.timeline.clear_agent();
    }

    /// The call's audio is over: the rest goes to the writer, which finalises the file.
    pub fn finish(mut self) {
        self.timeline.finish(&mut self.pending);
        let last = std::mem::take(&mut self.pending);
        let offset = self.handed;
        let data_len = offset + last.len() as u64;
        if self.dropped_chunks > 0 {
            use crate::telemetry_metrics::names::AUDIO_DROPPED;
            metrics::counter!(AUDIO_DROPPED, "where" => "recording").increment(self.dropped_chunks);
            tracing::info!(
                dropped_chunks = self.dropped_chunks,
                "the disk was slow: parts of the recording are silence"
            );
        }
        let writer = self.writer;
        // Waiting for room is fine here: the call's audio is over and this is its own task.
        actix_rt::spawn(async move {
            if !last.is_empty() {
                let _ = writer
                    .send(WriterOp::Audio {
                        offset,
                        bytes: last,
                    })
                    .await;
            }
            let _ = writer.send(WriterOp::End { data_len }).await;
        });
    }

    /// False once the writer has given up (its error is logged): nothing more is gathered.
    fn writing(&self) -> bool {
        !self.writer.is_closed()
    }

    /// Hands the buffer to the writer (or drops it, if the writer is still busy) when `frames`
    /// more would not fit: the buffer never grows past its allocation.
    fn make_room(&mut self, frames: usize) {
        let fits = self.pending.len() + frames * timeline::FRAME_BYTES <= CHUNK_BYTES;
        if fits || self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK_BYTES));
        let len = bytes.len() as u64;
        let op = WriterOp::Audio {
            offset: self.handed,
            bytes,
        };
        match self.writer.try_send(op) {
            Ok(()) => {}
            // The offsets keep the rest in time: the hole reads as silence.
            Err(TrySendError::Full(_)) => self.dropped_chunks += 1,
            Err(TrySendError::Closed(_)) => {}
        }
        self.handed += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes nothing (a stalled disk): the audio path never waits, the buffers it
    /// had no room for are dropped, and what it gets later is at its own offset, so the hole is
    /// silence and the rest stays in time.
    #[actix_rt::test]
    async fn a_writer_that_falls_behind_costs_silence_not_time() {
        let (tx, mut rx) = mpsc::channel(QUEUED_CHUNKS);
        let mut recorder = CallRecorder::new(8000, tx);
        // Caller frames of 1,024 samples: 4 KiB of stereo each, a full buffer every 4.
        for _ in 0..10 {
            recorder.caller(&[100; 1024]);
        }
        assert_eq!(
            recorder.dropped_chunks, 1,
            "the second full buffer found no room"
        );
        let first = rx.recv().await.unwrap();
        recorder.finish();
        let mut ops = vec![first];
        while let Some(op) = rx.recv().await {
            ops.push(op);
        }
        let summary: Vec<(u64, usize)> = ops
            .iter()
            .map(|op| match op {
                WriterOp::Audio { offset, bytes } => (*offset, bytes.len()),
                WriterOp::End { data_len } => (*data_len, 0),
            })
            .collect();
        // The first buffer queued, the second dropped, the rest after the hole; 40 KiB in all.
        assert_eq!(summary, vec![(0, 16_384), (32_768, 8_192), (40_960, 0)]);
        assert!(matches!(ops.last(), Some(WriterOp::End { .. })));
    }
}
