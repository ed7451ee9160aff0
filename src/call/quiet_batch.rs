//! `QuietBatch`: caller audio for Deepgram, held and sent in batches while the caller is
//! quiet, so a listening caller costs Deepgram 2 messages a second instead of 10.
//!
//! Why it is safe for latency: it holds audio only after `QUIET_AFTER` of silence by our own
//! VAD, long past Deepgram's endpointing (which needs the silence after speech promptly) and
//! our `Finalize`. The frame in which the VAD hears speech again flushes what was held, with
//! that frame, in one message: the words reach Deepgram as fast as before. Speech too faint
//! for the VAD is the one case that waits, by at most one batch.
//!
//! Sans-IO: frames and the VAD's state in, what to send out.

/// Silence (by the VAD) after which audio is held.
pub const QUIET_AFTER_MS: u32 = 1_500;
/// How much quiet audio one message to Deepgram carries.
pub const BATCH_MS: u32 = 500;

/// The audio held for Deepgram, and when it goes.
#[derive(Debug)]
pub struct QuietBatch {
    held: Vec<i16>,
    /// Samples in one batch.
    batch_samples: usize,
}

impl QuietBatch {
    pub fn new(sample_rate: u32) -> QuietBatch {
        QuietBatch {
            held: Vec::new(),
            batch_samples: (sample_rate * BATCH_MS / 1000) as usize,
        }
    }

    /// Whether the caller has been silent long enough for audio to be held.
    pub fn quiet(speaking: bool, silence_ms: u32) -> bool {
        !speaking && silence_ms >= QUIET_AFTER_MS
    }

    /// One caller frame; returns the audio to send now, if any (in order, held audio first).
    pub fn push(&mut self, frame: Vec<i16>, quiet: bool) -> Option<Vec<i16>> {
        if !quiet && self.held.is_empty() {
            return Some(frame);
        }
        if self.held.is_empty() {
            // One batch's worth, once: growing by doubling would hold up to twice that.
            self.held.reserve_exact(self.batch_samples.max(frame.len()));
        }
        self.held.extend_from_slice(&frame);
        if !quiet || self.held.len() >= self.batch_samples {
            return self.flush();
        }
        None
    }

    /// Everything held (before a `Finalize`, a close, or when speech starts).
    pub fn flush(&mut self) -> Option<Vec<i16>> {
        (!self.held.is_empty()).then(|| std::mem::take(&mut self.held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 ms frames at 8 kHz, numbered by their first sample.
    fn frame(n: i16) -> Vec<i16> {
        vec![n; 800]
    }

    #[test]
    fn quiet_means_silent_long_enough() {
        let table = [
            (true, 0, false),
            (true, 5_000, false),
            (false, 0, false),
            (false, QUIET_AFTER_MS - 1, false),
            (false, QUIET_AFTER_MS, true),
            (false, 60_000, true),
        ];
        for (speaking, silence, quiet) in table {
            assert_eq!(
                QuietBatch::quiet(speaking, silence),
                quiet,
                "{speaking} {silence}"
            );
        }
    }

    /// Each row: a frame pushed with `quiet`, and how many frames go out (0 = held).
    #[test]
    fn quiet_audio_goes_in_batches_and_speech_flushes_at_once() {
        let mut batch = QuietBatch::new(8000);
        let table: &[(bool, usize)] = &[
            // Talking or just after: every frame at once.
            (false, 1),
            (false, 1),
            // Quiet: five frames (500 ms) make a message.
            (true, 0),
            (true, 0),
            (true, 0),
            (true, 0),
            (true, 5),
            (true, 0),
            (true, 0),
            // Speech again: what was held goes with this frame, in one message.
            (false, 3),
            (false, 1),
        ];
        let mut sent = Vec::new();
        for (i, &(quiet, frames)) in table.iter().enumerate() {
            let out = batch.push(frame(i as i16), quiet);
            assert_eq!(out.as_ref().map_or(0, |o| o.len() / 800), frames, "row {i}");
            sent.extend(out.unwrap_or_default());
        }
        // Nothing lost, nothing reordered.
        let expected: Vec<i16> = (0..table.len()).flat_map(|i| frame(i as i16)).collect();
        assert_eq!(sent, expected);
        assert_eq!(batch.flush(), None);
    }

    #[test]
    fn a_flush_sends_what_is_held() {
        let mut batch = QuietBatch::new(8000);
        assert_eq!(batch.push(frame(1), true), None);
        assert_eq!(batch.push(frame(2), true), None);
        assert_eq!(batch.flush().map(|a| a.len()), Some(1600));
        assert_eq!(batch.flush(), None);
    }
}
