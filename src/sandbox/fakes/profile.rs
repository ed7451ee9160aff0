//! How fast the fakes answer: `--profile instant` (at once: CPU benchmarks and most tests) or
//! `--profile realistic` (what a caller in India hears from the real providers). Every stage
//! of the realistic profile is a distribution with jitter and a slow tail, and every figure is
//! here, in one place, with where it comes from (shared/specs/real-world.md collects them).
//!
//! Each figure is seen from our side of the network: a provider's round trip (`rtt`) is added
//! to its own time, once per request (OpenAI, ElevenLabs) or once per result on a stream that
//! is already open (Deepgram: audio travels one way, the result comes back the other).

use std::time::Duration;

use rand::Rng;

/// Which latency profile the fakes play.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileName {
    /// Answers at once (the knobs' fixed latency, 0 by default).
    #[default]
    Instant,
    /// Published or measured provider figures, with jitter and slow tails.
    Realistic,
}

impl ProfileName {
    pub fn timings(self) -> Option<Timings> {
        match self {
            ProfileName::Instant => None,
            ProfileName::Realistic => Some(Timings::realistic()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Instant => "instant",
            ProfileName::Realistic => "realistic",
        }
    }
}

/// A delay: log-normal around `median` with the given `p95`; a `tail` share of samples take
/// `tail_factor` times longer (the slow requests every provider has).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delay {
    pub median_ms: f64,
    pub p95_ms: f64,
    pub tail: f64,
    pub tail_factor: f64,
}

impl Delay {
    pub const ZERO: Delay = Delay::fixed(0.0);

    pub const fn fixed(ms: f64) -> Delay {
        Delay {
            median_ms: ms,
            p95_ms: ms,
            tail: 0.0,
            tail_factor: 1.0,
        }
    }

    pub const fn spread(median_ms: f64, p95_ms: f64) -> Delay {
        Delay {
            median_ms,
            p95_ms,
            tail: 0.0,
            tail_factor: 1.0,
        }
    }

    pub const fn with_tail(self, tail: f64, tail_factor: f64) -> Delay {
        Delay {
            tail,
            tail_factor,
            ..self
        }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        if self.median_ms <= 0.0 {
            return Duration::ZERO;
        }
        // ln(p95 / median) = 1.645 σ for a log-normal.
        let sigma = (self.p95_ms.max(self.median_ms) / self.median_ms).ln() / 1.645;
        let mut ms = self.median_ms * (sigma * standard_normal(rng)).exp();
        if self.tail > 0.0 && rng.gen_bool(self.tail.clamp(0.0, 1.0)) {
            ms *= self.tail_factor;
        }
        // A sample is never absurd: 20 medians caps a wild draw.
        Duration::from_micros((ms.min(self.median_ms * 20.0) * 1000.0) as u64)
    }
}

/// Box–Muller: one draw from N(0, 1).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Every stage of the three providers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    // ── Deepgram (live WebSocket) ──
    /// Network round trip to Deepgram.
    pub stt_rtt: Delay,
    /// Its own time to turn heard audio into a final, after the endpointing silence (the
    /// `endpointing` of the request URL, as the real service does).
    pub stt_final: Delay,
    /// Its answer to `Finalize`: buffered audio processed at once.
    pub stt_finalize: Delay,
    /// The first interim after speech starts, and the gap between interims.
    pub stt_interim_first: Delay,
    pub stt_interim_every: Delay,
    // ── OpenAI (chat completions, streamed) ──
    pub llm_rtt: Delay,
    /// The model's time to its first token, the round trip excluded.
    pub llm_first_token: Delay,
    /// Between tokens.
    pub llm_token_gap: Delay,
    // ── ElevenLabs (HTTP stream) ──
    pub tts_rtt: Delay,
    /// The model's time to first audio, the round trip excluded.
    pub tts_first_byte: Delay,
    /// Audio streams this many times faster than real time after the first byte.
    pub tts_speed: f64,
}

impl Timings {
    /// The realistic profile. Sources (shared/specs/real-world.md):
    /// - Deepgram: endpointing is the request's `endpointing` silence (developers.deepgram.com/
    ///   docs/endpointing); the final then takes ~100–250 ms more (estimate from practice, the
    ///   issue's "endpointing plus final ~350–550 ms" with `endpointing=300`); `Finalize`
    ///   answers within a round trip plus processing (docs/finalize); first words 0.3–1 s after
    ///   speech starts, interims every few hundred ms (estimate; no published figure).
    /// - OpenAI gpt-4o-mini from India: first token ~350–800 ms, a slow tail above 1.5 s
    ///   (estimate; no official figure), here ~200 ms round trip plus the model's time;
    ///   streaming at ~60–100 tokens a second.
    /// - ElevenLabs Flash v2.5: ~75 ms model time (elevenlabs.io/docs/api-reference/
    ///   reducing-latency), first byte ~200–450 ms with the round trip from India; streams
    ///   several times faster than real time.
    pub fn realistic() -> Timings {
        Timings {
            stt_rtt: Delay::spread(60.0, 110.0).with_tail(0.02, 3.0),
            stt_final: Delay::spread(110.0, 220.0).with_tail(0.02, 3.0),
            stt_finalize: Delay::spread(40.0, 90.0).with_tail(0.02, 3.0),
            stt_interim_first: Delay::spread(500.0, 900.0),
            stt_interim_every: Delay::spread(300.0, 450.0),
            llm_rtt: Delay::spread(180.0, 260.0).with_tail(0.02, 2.5),
            llm_first_token: Delay::spread(330.0, 650.0).with_tail(0.03, 3.0),
            llm_token_gap: Delay::spread(12.0, 30.0).with_tail(0.01, 8.0),
            tts_rtt: Delay::spread(150.0, 230.0).with_tail(0.02, 2.5),
            tts_first_byte: Delay::spread(120.0, 220.0).with_tail(0.02, 3.0),
            tts_speed: 4.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn percentile(sorted: &[f64], p: f64) -> f64 {
        sorted[((sorted.len() - 1) as f64 * p / 100.0).round() as usize]
    }

    /// A delay's samples have the median and p95 it was given, and its slow tail.
    #[test]
    fn delays_follow_their_distribution() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (delay, tail_over) in [
            (Delay::spread(300.0, 600.0), None),
            (
                Delay::spread(100.0, 150.0).with_tail(0.05, 4.0),
                Some(300.0),
            ),
        ] {
            let mut xs: Vec<f64> = (0..20_000)
                .map(|_| delay.sample(&mut rng).as_secs_f64() * 1000.0)
                .collect();
            xs.sort_by(f64::total_cmp);
            let (p50, p95) = (percentile(&xs, 50.0), percentile(&xs, 95.0));
            assert!(
                (p50 / delay.median_ms - 1.0).abs() < 0.08,
                "{delay:?}: p50 {p50}"
            );
            if let Some(over) = tail_over {
                let share = xs.iter().filter(|x| **x > over).count() as f64 / xs.len() as f64;
                assert!((0.03..0.07).contains(&share), "{delay:?}: tail {share}");
            } else {
                assert!(
                    (p95 / delay.p95_ms - 1.0).abs() < 0.1,
                    "{delay:?}: p95 {p95}"
                );
            }
        }
        assert_eq!(Delay::ZERO.sample(&mut rng), Duration::ZERO);
        assert_eq!(
            Delay::fixed(40.0).sample(&mut rng),
            Duration::from_millis(40)
        );
    }

    /// The realistic stages add up to the published ranges at the median.
    #[test]
    fn realistic_medians_sit_in_the_published_ranges() {
        let t = Timings::realistic();
        let llm = t.llm_rtt.median_ms + t.llm_first_token.median_ms;
        assert!((350.0..=800.0).contains(&llm), "{llm}");
        let tts = t.tts_rtt.median_ms + t.tts_first_byte.median_ms;
        assert!((200.0..=450.0).contains(&tts), "{tts}");
        let stt = 300.0 + t.stt_final.median_ms + t.stt_rtt.median_ms;
        assert!((350.0..=550.0).contains(&stt), "{stt}");
    }
}
