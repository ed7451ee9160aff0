//! The sandbox voice: text carried as audio, so the simulated caller and the fake providers
//! never cheat through a side channel.
//!
//! Each character is one *symbol*: two simultaneous tones, one from a low group and one from a
//! high group (like DTMF, with 8 × 8 = 64 symbols), 60 ms long, followed by 10 ms of silence.
//! That is ~14 characters a second, close to human speech, so timings, VAD and barge-in
//! behave as in a real call. An utterance is `SYNC`, its characters, `END`; silence between
//! utterances is digital silence.
//!
//! Decoding needs no clock alignment: the 10 ms gaps split the signal into tone *runs* by
//! energy, and each run's middle is classified with Goertzel filters tuned to the 16
//! frequencies. It works at any sample rate (8, 16, 24 kHz), with any chunking, through base64,
//! and with moderate noise. If the audio is cut mid-utterance (a `clear` on barge-in), a long
//! silence flushes what was heard so far as a partial utterance.

/// The characters the voice can say; position = symbol number. 62 and 63 are SYNC and END.
const ALPHABET: &str = " abcdefghijklmnopqrstuvwxyz0123456789.,?!'-:/+@&()\"%$#;=*_~<>[]";
const SYNC: usize = 62;
const END: usize = 63;

const LOW: [f32; 8] = [450.0, 550.0, 650.0, 750.0, 850.0, 950.0, 1050.0, 1150.0];
const HIGH: [f32; 8] = [
    1400.0, 1600.0, 1800.0, 2000.0, 2200.0, 2400.0, 2600.0, 2800.0,
];

const TONE_MS: usize = 60;
const GAP_MS: usize = 10;
/// Tone amplitude per component, as a fraction of full scale.
const AMPLITUDE: f32 = 0.28;

/// Audio time an utterance of `chars` characters takes.
pub fn duration_ms(chars: usize) -> usize {
    (chars + 2) * (TONE_MS + GAP_MS)
}

fn symbol_of(c: char) -> usize {
    let c = c.to_ascii_lowercase();
    ALPHABET
        .chars()
        .position(|a| a == c)
        .unwrap_or(ALPHABET.find('?').unwrap_or(0))
}

/// Speaks `text` as PCM16 mono at `sample_rate`. Characters outside the alphabet become '?'.
pub fn encode(text: &str, sample_rate: u32) -> Vec<i16> {
    let symbols = std::iter::once(SYNC)
        .chain(text.chars().map(symbol_of))
        .chain(std::iter::once(END));
    let rate = sample_rate as f32;
    let tone_len = sample_rate as usize * TONE_MS / 1000;
    let gap_len = sample_rate as usize * GAP_MS / 1000;
    let ramp = (sample_rate as usize * 5 / 1000).max(1);
    let mut out = Vec::with_capacity((text.len() + 2) * (tone_len + gap_len));
    for s in symbols {
        let (low, high) = (LOW[s / 8], HIGH[s % 8]);
        for i in 0..tone_len {
            // Raised-cosine edges keep the tones from clicking into neighbouring filters.
            let edge = i.min(tone_len - 1 - i);
            let gain = if edge < ramp {
                0.5 - 0.5 * (std::f32::consts::PI * edge as f32 / ramp as f32).cos()
            } else {
                1.0
            };
            let t = i as f32 / rate;
            let v = AMPLITUDE
                * gain
                * ((2.0 * std::f32::consts::PI * low * t).sin()
                    + (2.0 * std::f32::consts::PI * high * t).sin());
            out.push((v * i16::MAX as f32) as i16);
        }
        out.extend(std::iter::repeat_n(0, gap_len));
    }
    out
}

/// The power of each of `freqs` in `samples` (Goertzel), all in one pass: the filters are
/// independent, so the processor runs them side by side instead of one slow dependent chain
/// after another (the decoder was the load generator's hottest code).
fn goertzel_bank<const N: usize>(samples: &[i16], freqs: &[f32; N], rate: f32) -> [f32; N] {
    let coeff = freqs.map(|f| 2.0 * (2.0 * std::f32::consts::PI * f / rate).cos());
    let (mut s1, mut s2) = ([0.0f32; N], [0.0f32; N]);
    for &x in samples {
        let x = x as f32;
        for k in 0..N {
            let s0 = x + coeff[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    std::array::from_fn(|k| s1[k] * s1[k] + s2[k] * s2[k] - coeff[k] * s1[k] * s2[k])
}

/// What the decoder heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A tone started after silence: someone began speaking.
    SpeechStarted,
    /// The text of the utterance so far (for interim transcripts).
    Partial(String),
    /// An utterance ended: `complete` is false when it was cut off before its END symbol.
    Utterance { text: String, complete: bool },
}

/// A streaming decoder; feed it chunks of any size.
pub struct Decoder {
    rate: u32,
    hop: usize,
    /// Samples not yet making up a whole hop.
    pending: Vec<i16>,
    /// The current run of energetic hops.
    run: Vec<i16>,
    silent_hops: usize,
    in_utterance: bool,
    text: String,
}

/// Below this RMS a hop counts as silence (about −30 dBFS).
const SILENCE_RMS: f32 = 1000.0;

/// Whether a chunk holds speech (any 5 ms of it above the silence level): what a transcriber's
/// endpointing measures silence against.
pub fn is_voiced(samples: &[i16]) -> bool {
    samples.chunks(40).any(|hop| {
        let power = hop.iter().map(|&x| (x as f32).powi(2)).sum::<f32>() / hop.len() as f32;
        power.sqrt() >= SILENCE_RMS
    })
}

impl Decoder {
    pub fn new(sample_rate: u32) -> Decoder {
        Decoder {
            rate: sample_rate,
            hop: (sample_rate as usize * 5 / 1000).max(1),
            pending: Vec::new(),
            run: Vec::new(),
            silent_hops: 0,
            in_utterance: false,
            text: String::new(),
        }
    }

    pub fn push(&mut self, samples: &[i16]) -> Vec<Heard> {
        let mut heard = Vec::new();
        self.pending.extend_from_slice(samples);
        let hops = self.pending.len() / self.hop;
        let whole: Vec<i16> = self.pending.drain(..hops * self.hop).collect();
        for hop in whole.chunks(self.hop) {
            self.push_hop(hop, &mut heard);
        }
        heard
    }

    fn push_hop(&mut self, hop: &[i16], heard: &mut Vec<Heard>) {
        let rms = (hop.iter().map(|&x| (x as f32).powi(2)).sum::<f32>() / hop.len() as f32).sqrt();
        if rms >= SILENCE_RMS {
            if self.run.is_empty() && !self.in_utterance && self.silent_hops > 0 {
                heard.push(Heard::SpeechStarted);
            }
            self.run.extend_from_slice(hop);
            self.silent_hops = 0;
            return;
        }
        self.silent_hops += 1;
        if !self.run.is_empty() {
            let run = std::mem::take(&mut self.run);
            self.end_run(&run, heard);
        }
        // 400 ms of silence inside an utterance: it was cut off; say what was heard.
        if self.in_utterance && self.silent_hops * 5 >= 400 {
            self.in_utterance = false;
            heard.push(Heard::Utterance {
                text: std::mem::take(&mut self.text),
                complete: false,
            });
        }
    }

    fn end_run(&mut self, run: &[i16], heard: &mut Vec<Heard>) {
        // A run shorter than 2/3 of a tone is a fragment (cut, or a click): skip it. A run much
        // longer than a symbol is not speech either: a held tone such as a voicemail beep, which
        // a transcriber must not turn into words.
        if run.len() < self.rate as usize * TONE_MS * 2 / 3 / 1000
            || run.len() > self.rate as usize * TONE_MS * 2 / 1000
        {
            return;
        }
        let symbol = self.classify(run);
        match symbol {
            SYNC => {
                self.in_utterance = true;
                self.text.clear();
            }
            END if self.in_utterance => {
                self.in_utterance = false;
                heard.push(Heard::Utterance {
                    text: std::mem::take(&mut self.text),
                    complete: true,
                });
            }
            END => {}
            s => {
                // A character without SYNC (the start was cut) still counts.
                self.in_utterance = true;
                self.text.push(ALPHABET.chars().nth(s).unwrap_or('?'));
                heard.push(Heard::Partial(self.text.clone()));
            }
        }
    }

    fn classify(&self, run: &[i16]) -> usize {
        // The middle of the run avoids the ramps.
        let trim = run.len() / 6;
        let body = &run[trim..run.len() - trim];
        let mut freqs = [0.0f32; 16];
        freqs[..8].copy_from_slice(&LOW);
        freqs[8..].copy_from_slice(&HIGH);
        let power = goertzel_bank(body, &freqs, self.rate as f32);
        // The strongest of each group (the first on a tie, as a fold keeping `>` would).
        let best = |group: &[f32]| {
            group
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, &p)| if p > a.1 { (i, p) } else { a })
                .0
        };
        best(&power[..8]) * 8 + best(&power[8..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(samples: &[i16], rate: u32, chunk: usize) -> Vec<Heard> {
        let mut d = Decoder::new(rate);
        let mut heard = Vec::new();
        for c in samples.chunks(chunk) {
            heard.extend(d.push(c));
        }
        heard.extend(d.push(&vec![0; rate as usize])); // trailing silence
        heard
    }

    fn utterances(heard: &[Heard]) -> Vec<(String, bool)> {
        heard
            .iter()
            .filter_map(|h| match h {
                Heard::Utterance { text, complete } => Some((text.clone(), *complete)),
                _ => None,
            })
            .collect()
    }

    const SENTENCE: &str = "i want a 2bhk in pune, budget 80 lakh. call me at 6?";

    #[test]
    fn round_trip_at_telephony_rates_and_any_chunking() {
        for rate in [8000, 16000, 24000] {
            let mut audio = vec![0i16; 1000];
            audio.extend(encode(SENTENCE, rate));
            audio.extend(vec![0; 4000]);
            audio.extend(encode("yes", rate));
            for chunk in [1, 37, 160, 320, 1600, 100_000] {
                let heard = decode_all(&audio, rate, chunk);
                assert_eq!(
                    utterances(&heard),
                    vec![(SENTENCE.to_string(), true), ("yes".to_string(), true)],
                    "rate {rate} chunk {chunk}"
                );
                assert_eq!(
                    heard.iter().filter(|h| **h == Heard::SpeechStarted).count(),
                    2
                );
            }
        }
    }

    #[test]
    fn speaking_rate_is_human() {
        let chars_per_second = 1000.0 / (TONE_MS + GAP_MS) as f32;
        assert!((12.0..=15.0).contains(&chars_per_second));
        assert_eq!(encode("hello", 8000).len(), 8000 * duration_ms(5) / 1000);
    }

    #[test]
    fn a_cut_decodes_up_to_the_cut() {
        let audio = encode("hello there friend", 8000);
        // Cut in the middle of the 9th symbol (SYNC + "hello th" + half of 'e').
        let cut = 8000 * 70 / 1000 * 9 + 200;
        let heard = decode_all(&audio[..cut], 8000, 160);
        assert_eq!(utterances(&heard), vec![("hello th".to_string(), false)]);
    }

    #[test]
    fn survives_noise_and_base64() {
        use base64::Engine as _;
        let mut audio = encode(SENTENCE, 8000);
        // Deterministic pseudo-noise of about -30 dBFS.
        let mut seed = 12345u32;
        for s in audio.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let noise = ((seed >> 16) % 1600) as i32 - 800;
            *s = (*s as i32 + noise).clamp(i16::MIN as i32, i16::MAX as i32) as i16;
        }
        let bytes: Vec<u8> = audio.iter().flat_map(|s| s.to_le_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let back = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let samples: Vec<i16> = back
            .chunks(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let heard = decode_all(&samples, 8000, 800);
        assert_eq!(utterances(&heard), vec![(SENTENCE.to_string(), true)]);
    }

    #[test]
    fn a_held_tone_is_not_a_word() {
        for rate in [8000, 16000] {
            let beep: Vec<i16> = (0..rate / 2)
                .map(|i| {
                    (9000.0 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin())
                        as i16
                })
                .collect();
            let mut audio = encode("leave a message", rate);
            audio.extend(vec![0; rate as usize / 5]);
            audio.extend(&beep);
            audio.extend(vec![0; rate as usize / 5]);
            let heard = decode_all(&audio, rate, 160);
            assert_eq!(
                utterances(&heard),
                vec![("leave a message".to_string(), true)]
            );
            assert!(decode_all(&beep, rate, 160)
                .iter()
                .all(|h| matches!(h, Heard::SpeechStarted)));
        }
    }

    #[test]
    fn unknown_characters_become_question_marks() {
        let heard = decode_all(&encode("Namaste ज", 8000), 8000, 160);
        assert_eq!(utterances(&heard), vec![("namaste ?".to_string(), true)]);
    }
}
