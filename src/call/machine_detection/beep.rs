//! Beep detection: a voicemail box's "record now" tone is one steady pure tone (typically
//! 400–2000 Hz, 150 ms to 1 s long). Speech, noise and the sandbox's two-tone voice are not.
//!
//! Why zero crossings *and* Goertzel: a Goertzel filter measures one frequency, so on its own it
//! would need a bank of filters across 400–2000 Hz to find a beep of unknown pitch; zero
//! crossings alone are fooled by anything periodic-looking (a hum, a vowel, a two-tone chord
//! has a crossing rate too). So each 20 ms frame is asked two questions: the zero crossings
//! (interpolated between samples, so the estimate is exact for a sine) say *which* frequency
//! the frame would be if it were a tone, and one Goertzel filter at that frequency says
//! *whether* it is one — the share of the frame's energy at that frequency (≈ 1 for a pure
//! tone, ≤ ½ for two tones, small for noise and speech). A beep is a run of such frames at a
//! steady frequency, long enough; it is reported when it ends, because a message must start
//! after the tone, not over it.

/// Lowest and highest beep frequencies accepted.
const MIN_HZ: f32 = 400.0;
const MAX_HZ: f32 = 2000.0;
/// Share of a frame's energy that must sit at its one frequency.
const MIN_PURITY: f32 = 0.8;
/// Frames quieter than this (RMS, PCM16) are not tones (about −40 dBFS).
const MIN_RMS: f32 = 300.0;
/// How far the frequency may wander over the beep, as a fraction.
const MAX_DRIFT: f32 = 0.02;
/// Analysis frame.
pub const FRAME_MS: u32 = 20;

/// What one frame changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeepEvent {
    /// A tone has lasted long enough to be a beep (it is still sounding).
    ToneHeard,
    /// The beep ended.
    Ended,
}

/// Streaming beep detector over fixed frames.
#[derive(Debug, Clone)]
pub struct BeepDetector {
    rate: f32,
    /// Whole pure frames needed: a tone of `min_ms` always covers this many whole frames,
    /// whatever its alignment to the frame grid.
    frames_needed: u32,
    run_frames: u32,
    run_hz: f32,
}

impl BeepDetector {
    pub fn new(sample_rate: u32, min_ms: u32) -> BeepDetector {
        BeepDetector {
            rate: sample_rate as f32,
            frames_needed: (min_ms.saturating_sub(FRAME_MS) / FRAME_MS).max(2),
            run_frames: 0,
            run_hz: 0.0,
        }
    }

    /// Samples in one analysis frame.
    pub fn frame_len(sample_rate: u32) -> usize {
        (sample_rate * FRAME_MS / 1000).max(1) as usize
    }

    /// Judges one frame of `frame_len` samples.
    pub fn push_frame(&mut self, frame: &[i16]) -> Option<BeepEvent> {
        let tone = pure_tone_hz(frame, self.rate);
        let steady = match tone {
            Some(hz) if self.run_frames == 0 => {
                self.run_hz = hz;
                true
            }
            Some(hz) => (hz - self.run_hz).abs() <= self.run_hz * MAX_DRIFT,
            None => false,
        };
        if steady {
            self.run_frames += 1;
            return (self.run_frames == self.frames_needed).then_some(BeepEvent::ToneHeard);
        }
        let was_beep = self.run_frames >= self.frames_needed;
        // A frame at another pure frequency starts a new run.
        self.run_frames = u32::from(tone.is_some());
        if let Some(hz) = tone {
            self.run_hz = hz;
        }
        was_beep.then_some(BeepEvent::Ended)
    }
}

/// The frequency of `frame` if it is one loud pure tone in the beep band.
pub fn pure_tone_hz(frame: &[i16], rate: f32) -> Option<f32> {
    let energy: f32 = frame.iter().map(|&x| (x as f32) * (x as f32)).sum();
    if frame.len() < 8 || (energy / frame.len() as f32).sqrt() < MIN_RMS {
        return None;
    }
    let hz = zero_crossing_hz(frame, rate)?;
    if !(MIN_HZ..=MAX_HZ).contains(&hz) {
        return None;
    }
    let purity = 2.0 * goertzel_power(frame, hz, rate) / (frame.len() as f32 * energy);
    (purity >= MIN_PURITY).then_some(hz)
}

/// Frequency from the upward zero crossings, each placed between its two samples by linear
/// interpolation (so a sine's estimate does not snap to whole samples).
fn zero_crossing_hz(frame: &[i16], rate: f32) -> Option<f32> {
    let mut first = None;
    let mut last = 0.0f32;
    let mut count = 0u32;
    for (i, pair) in frame.windows(2).enumerate() {
        let (a, b) = (pair[0] as f32, pair[1] as f32);
        if a < 0.0 && b >= 0.0 {
            let t = i as f32 + (-a) / (b - a);
            first.get_or_insert(t);
            last = t;
            count += 1;
        }
    }
    let first = first?;
    (count >= 3 && last > first).then(|| (count - 1) as f32 * rate / (last - first))
}

/// Power of one frequency in a block (Goertzel).
fn goertzel_power(samples: &[i16], freq: f32, rate: f32) -> f32 {
    let coeff = 2.0 * (2.0 * std::f32::consts::PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x as f32 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, rate: u32, ms: u32, amplitude: f32) -> Vec<i16> {
        (0..rate * ms / 1000)
            .map(|i| {
                let t = i as f32 / rate as f32;
                (amplitude * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn a_pure_frame_reads_its_frequency() {
        for rate in [8000, 16000] {
            for hz in [440.0, 1000.0, 1400.0, 1950.0] {
                let frame = tone(hz, rate, 20, 8000.0);
                let got = pure_tone_hz(&frame, rate as f32).expect("pure");
                assert!((got - hz).abs() < hz * 0.01, "{rate} {hz} -> {got}");
            }
        }
    }

    #[test]
    fn out_of_band_and_quiet_tones_are_not_beeps() {
        assert_eq!(pure_tone_hz(&tone(200.0, 8000, 20, 8000.0), 8000.0), None);
        assert_eq!(pure_tone_hz(&tone(3000.0, 8000, 20, 8000.0), 8000.0), None);
        assert_eq!(pure_tone_hz(&tone(1000.0, 8000, 20, 50.0), 8000.0), None);
    }

    #[test]
    fn two_tones_are_not_pure() {
        let a = tone(650.0, 8000, 20, 6000.0);
        let b = tone(1800.0, 8000, 20, 6000.0);
        let chord: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(pure_tone_hz(&chord, 8000.0), None);
    }
}
