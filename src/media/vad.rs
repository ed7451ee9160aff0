//! An energy-based voice activity detector on the inbound PCM: pure Rust, no model download.
//! It tracks how long the caller has been speaking (for barge-in) and since when they have
//! been silent (for endpointing and silence re-prompts).

/// Per-call VAD state.
#[derive(Debug, Clone)]
pub struct Vad {
    sample_rate: u32,
    /// RMS above which a frame is speech.
    threshold: f32,
    /// Milliseconds of continuous speech so far (0 while silent).
    speech_ms: u32,
    /// Milliseconds of continuous silence so far.
    silence_ms: u32,
    /// Frames of silence tolerated inside speech (gaps between syllables).
    hangover_ms: u32,
    gap_ms: u32,
}

/// What a chunk changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began after `after_silence_ms` of silence, counted in the caller's audio (not
    /// by when the frames arrived: a late or bunched delivery does not stretch it).
    SpeechStarted {
        after_silence_ms: u32,
    },
    SpeechEnded,
}

impl Vad {
    pub fn new(sample_rate: u32) -> Vad {
        Vad {
            sample_rate,
            threshold: 500.0,
            speech_ms: 0,
            silence_ms: 0,
            hangover_ms: 200,
            gap_ms: 0,
        }
    }

    /// Feeds one chunk (any size; judged in 10 ms frames).
    pub fn push(&mut self, samples: &[i16]) -> Option<VadEvent> {
        let frame = (self.sample_rate as usize / 100).max(1);
        let mut event = None;
        for chunk in samples.chunks(frame) {
            let ms = (chunk.len() * 1000 / self.sample_rate as usize) as u32;
            let energy = chunk.iter().map(|&s| (s as f32) * (s as f32)).sum::<f32>();
            let rms = (energy / chunk.len() as f32).sqrt();
            if rms >= self.threshold {
                if self.speech_ms == 0 {
                    event = Some(VadEvent::SpeechStarted {
                        after_silence_ms: self.silence_ms,
                    });
                }
                self.speech_ms += ms + self.gap_ms;
                self.gap_ms = 0;
                self.silence_ms = 0;
            } else {
                self.silence_ms += ms;
                if self.speech_ms > 0 {
                    self.gap_ms += ms;
                    if self.gap_ms > self.hangover_ms {
                        self.speech_ms = 0;
                        self.gap_ms = 0;
                        event = Some(VadEvent::SpeechEnded);
                    }
                }
            }
        }
        event
    }

    pub fn speech_ms(&self) -> u32 {
        self.speech_ms
    }

    pub fn silence_ms(&self) -> u32 {
        self.silence_ms
    }

    pub fn is_speaking(&self) -> bool {
        self.speech_ms > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_and_silence() {
        let mut vad = Vad::new(8000);
        assert_eq!(vad.push(&[0; 800]), None);
        assert_eq!(vad.silence_ms(), 100);
        let tone: Vec<i16> = (0..4000)
            .map(|i| if i % 2 == 0 { 3000 } else { -3000 })
            .collect();
        assert_eq!(
            vad.push(&tone[..80]),
            Some(VadEvent::SpeechStarted {
                after_silence_ms: 100
            })
        );
        vad.push(&tone[80..]);
        assert!(vad.speech_ms() >= 490);
        // A short gap inside speech does not end it.
        assert_eq!(vad.push(&[0; 800]), None);
        assert!(vad.is_speaking());
        assert_eq!(vad.push(&[0; 1600]), Some(VadEvent::SpeechEnded));
        assert!(!vad.is_speaking());
        // A breath of 750 ms (300 of it above): measured in samples, whatever the chunking.
        assert_eq!(vad.push(&[0; 3600]), None);
        let events: Vec<VadEvent> = tone[..800]
            .chunks(160)
            .filter_map(|chunk| vad.push(chunk))
            .collect();
        let started = VadEvent::SpeechStarted {
            after_silence_ms: 750,
        };
        assert_eq!(events, [started]);
    }
}
