//! The agent's audio on its way to the phone, as a plain state machine (sans-IO): audio and
//! marks go in, the clock goes in, and out comes what to send now. The media socket only wires
//! it to the WebSocket and a timer.
//!
//! Audio goes out in chunks of `EXOTEL_OUTBOUND_CHUNK_MS` (Exotel documents chunks of at least
//! 3.2 KB, 100 ms at 8 kHz, in multiples of 320 bytes; shared/specs/exotel-research.md §1.5),
//! paced in real time a little ahead of the phone: every chunk costs a WebSocket message, a
//! base64 encoding and a wake-up, so 100 ms chunks send a fifth of the messages of 20 ms ones.
//! Barge-in does not wait for a chunk to play: `clear` drops Exotel's whole queue.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At least this much audio beyond the chunk being played is at the phone when the next timer
/// tick comes: what rides out a late tick. With 100 ms chunks the phone holds 100–200 ms of
/// our audio; with 20 ms chunks, 100–120 ms; with 200 ms chunks, 200–400 ms.
const MARGIN_MS: u64 = 100;

/// The shortest chunk of a turn's tail (padded with silence): Exotel's documented minimum of
/// 100 ms, or the chunk size when that is smaller.
const MIN_TAIL_MS: u64 = 100;

/// One item for the socket to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// PCM16 at the call's rate, a whole number of 20 ms frames; `turn` is the agent turn it
    /// belongs to.
    Audio {
        turn: u64,
        pcm: Vec<i16>,
    },
    Mark(String),
}

/// The playout queue of one call and its real-time pacing.
#[derive(Debug)]
pub struct Playout {
    sample_rate: u32,
    /// Samples in one chunk (`EXOTEL_OUTBOUND_CHUNK_MS`).
    chunk_samples: usize,
    /// How far ahead of real time audio may be sent, ms.
    lead_ms: u64,
    queue: VecDeque<Outgoing>,
    /// Samples not yet making a whole chunk, and their turn.
    partial: Vec<i16>,
    partial_turn: u64,
    /// When the current burst of playout started, and the audio (ms) sent since.
    burst: Option<(Instant, u64)>,
}

impl Playout {
    /// `chunk_ms` is a multiple of 20 (the settings check it).
    pub fn new(sample_rate: u32, chunk_ms: u32) -> Playout {
        Playout {
            sample_rate,
            chunk_samples: samples(sample_rate, u64::from(chunk_ms)),
            lead_ms: u64::from(chunk_ms) + u64::from(chunk_ms).max(MARGIN_MS),
            queue: VecDeque::new(),
            partial: Vec::new(),
            partial_turn: 0,
            burst: None,
        }
    }

    /// How often the socket should ask for due audio while there is some: once a chunk.
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.ms_of(self.chunk_samples))
    }

    /// Queues a turn's audio; a new turn first flushes the last one's tail.
    pub fn push_audio(&mut self, turn: u64, pcm: &[i16]) {
        if turn != self.partial_turn {
            self.flush();
            self.partial_turn = turn;
        }
        self.partial.extend_from_slice(pcm);
        // Each chunk is a copy of exactly its own samples, and the remainder moves down once.
        // (`split_off` kept the whole buffer's capacity in every chunk it cut, and copied the
        // rest each time: a 3 s greeting queued at once held ~15× its size until it played,
        // ~400 KiB per call at the start of every call.)
        let whole = self.partial.len() / self.chunk_samples * self.chunk_samples;
        for chunk in self.partial[..whole].chunks_exact(self.chunk_samples) {
            self.queue.push_back(Outgoing::Audio {
                turn,
                pcm: chunk.to_vec(),
            });
        }
        self.partial.drain(..whole);
        // What is left is less than a chunk; a large push must not keep its buffer for the
        // call (small pushes keep theirs: no reallocation per TTS chunk).
        if self.partial.capacity() > 4 * self.chunk_samples {
            self.partial.shrink_to(self.chunk_samples);
        }
    }

    /// Bytes held by the queued audio (what a call's playout costs in memory).
    pub fn queued_bytes(&self) -> usize {
        let queued: usize = self
            .queue
            .iter()
            .map(|o| match o {
                Outgoing::Audio { pcm, .. } => pcm.capacity(),
                Outgoing::Mark(name) => name.capacity(),
            })
            .sum();
        (queued + self.partial.capacity()) * std::mem::size_of::<i16>()
    }

    /// Queues a mark after the audio queued so far (its tail flushed).
    pub fn push_mark(&mut self, name: String) {
        self.flush();
        self.queue.push_back(Outgoing::Mark(name));
    }

    /// Queues the tail that does not make a whole chunk, padded with silence to whole 20 ms
    /// frames and at least `MIN_TAIL_MS` (never more than a chunk).
    pub fn flush(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let frame = samples(self.sample_rate, 20);
        let least = samples(self.sample_rate, MIN_TAIL_MS).min(self.chunk_samples);
        let whole_frames = self.partial.len().div_ceil(frame) * frame;
        let mut pcm = std::mem::take(&mut self.partial);
        pcm.resize(whole_frames.max(least), 0);
        self.queue.push_back(Outgoing::Audio {
            turn: self.partial_turn,
            pcm,
        });
    }

    /// Drops everything queued (a barge-in): the next audio starts a fresh burst.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.partial.clear();
        self.burst = None;
    }

    /// Forgets the pacing clock (a hold): on resume the audio starts a fresh burst.
    pub fn restart_clock(&mut self) {
        self.burst = None;
    }

    /// What to send at `now`: whole chunks that end within real time plus the lead, and the
    /// marks between.
    pub fn due(&mut self, now: Instant) -> Vec<Outgoing> {
        let (started, mut sent_ms) = *self.burst.get_or_insert((now, 0));
        let allowed = ms_between(started, now) + self.lead_ms;
        let mut out = Vec::new();
        while let Some(item) = self.queue.front() {
            if let Outgoing::Audio { pcm, .. } = item {
                let ms = self.ms_of(pcm.len());
                if sent_ms + ms > allowed {
                    break;
                }
                sent_ms += ms;
            }
            out.extend(self.queue.pop_front());
        }
        self.burst = Some((started, sent_ms));
        out
    }

    /// Whether nothing is queued and what was sent has played out at `now`; then the pacing
    /// clock is let go, so the next audio starts a fresh burst with its own lead.
    pub fn idle(&mut self, now: Instant) -> bool {
        if !self.queue.is_empty() || !self.partial.is_empty() {
            return false;
        }
        let played_out = self
            .burst
            .is_none_or(|(started, sent_ms)| now >= started + Duration::from_millis(sent_ms));
        if played_out {
            self.burst = None;
        }
        played_out
    }

    /// Whether everything queued has been handed out (what a hang-up waits for).
    pub fn is_drained(&self) -> bool {
        self.queue.is_empty()
    }

    fn ms_of(&self, samples: usize) -> u64 {
        samples as u64 * 1000 / u64::from(self.sample_rate)
    }
}

fn samples(sample_rate: u32, ms: u64) -> usize {
    (u64::from(sample_rate) * ms / 1000) as usize
}

fn ms_between(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `due` hands out, as (kind, ms of audio or mark name).
    fn sent(out: &[Outgoing], rate: u32) -> Vec<String> {
        out.iter()
            .map(|o| match o {
                Outgoing::Audio { pcm, .. } => format!("{}ms", pcm.len() as u32 * 1000 / rate),
                Outgoing::Mark(name) => format!("mark {name}"),
            })
            .collect()
    }

    #[test]
    fn chunks_are_paced_a_chunk_and_a_margin_ahead() {
        // (chunk ms, audio queued ms, ms after the burst started → what goes out then)
        type Case = (u32, usize, Vec<(u64, Vec<&'static str>)>);
        let cases: Vec<Case> = vec![
            (
                100,
                500,
                vec![
                    (0, vec!["100ms", "100ms"]),
                    (50, vec![]),
                    (100, vec!["100ms"]),
                    (200, vec!["100ms"]),
                    (300, vec!["100ms"]),
                    (400, vec![]),
                ],
            ),
            (
                20,
                200,
                vec![
                    (0, vec!["20ms"; 6]),
                    (20, vec!["20ms"]),
                    (65, vec!["20ms"; 2]),
                    (1000, vec!["20ms"]),
                ],
            ),
            // A late timer sends what is due at once.
            (
                100,
                600,
                vec![(0, vec!["100ms", "100ms"]), (350, vec!["100ms"; 3])],
            ),
            (200, 400, vec![(0, vec!["200ms", "200ms"])]),
        ];
        let rate = 8000;
        for (chunk_ms, queued_ms, steps) in cases {
            let mut p = Playout::new(rate, chunk_ms);
            p.push_audio(1, &vec![1; queued_ms * 8]);
            let t0 = Instant::now();
            for (at, want) in steps {
                let out = p.due(t0 + Duration::from_millis(at));
                assert_eq!(sent(&out, rate), want, "chunk {chunk_ms} ms, at {at} ms");
            }
        }
    }

    #[test]
    fn a_turns_tail_is_padded_to_whole_frames_and_exotels_minimum() {
        // (chunk ms, rate, samples of the turn → chunk lengths in samples)
        let cases = [
            (100, 8000, 1000, vec![800, 800]),
            (100, 8000, 850, vec![800, 800]),
            (100, 8000, 801, vec![800, 800]),
            (20, 8000, 170, vec![160, 160]),
            (200, 16000, 3300, vec![3200, 1600]),
            (200, 16000, 3200 + 1700, vec![3200, 1920]),
        ];
        for (chunk_ms, rate, n, want) in cases {
            let mut p = Playout::new(rate, chunk_ms);
            p.push_audio(1, &vec![1; n]);
            p.push_mark("end".into());
            let out = p.due(Instant::now() + Duration::from_secs(60));
            let lens: Vec<usize> = out
                .iter()
                .filter_map(|o| match o {
                    Outgoing::Audio { pcm, .. } => Some(pcm.len()),
                    Outgoing::Mark(_) => None,
                })
                .collect();
            assert_eq!(lens, want, "chunk {chunk_ms} ms, {rate} Hz, {n} samples");
            assert_eq!(out.last(), Some(&Outgoing::Mark("end".into())));
        }
    }

    #[test]
    fn queued_audio_costs_its_own_size_however_it_arrives() {
        // (samples per push, pushes): a greeting clause queued at once, and TTS streams in
        // odd pieces. 3 s at 8 kHz is 48,000 bytes of PCM.
        let cases = [(24_000, 1), (1_000, 24), (333, 73), (8_000, 3)];
        for (piece, pushes) in cases {
            let mut p = Playout::new(8000, 100);
            for _ in 0..pushes {
                p.push_audio(1, &vec![1; piece]);
            }
            let audio_bytes = piece * pushes * 2;
            assert!(
                p.queued_bytes() <= audio_bytes + 4 * 800 * 2,
                "pieces of {piece} × {pushes}: {} bytes held for {audio_bytes} of audio",
                p.queued_bytes()
            );
        }
    }

    #[test]
    fn marks_follow_their_audio_and_a_new_turn_flushes_the_last() {
        let mut p = Playout::new(8000, 100);
        p.push_audio(1, &[1; 400]);
        p.push_mark("turn-1".into());
        p.push_audio(2, &[2; 400]);
        p.push_audio(3, &[3; 800]);
        let out = p.due(Instant::now());
        let turns: Vec<String> = out
            .iter()
            .map(|o| match o {
                Outgoing::Audio { turn, pcm } => format!("{turn}:{}", pcm.len()),
                Outgoing::Mark(n) => n.clone(),
            })
            .collect();
        assert_eq!(turns, ["1:800", "turn-1", "2:800"], "two chunks of lead");
    }

    #[test]
    fn clear_drops_everything_and_idle_waits_for_the_audio_to_play() {
        let rate = 8000;
        let mut p = Playout::new(rate, 100);
        p.push_audio(1, &[1; 8000]);
        let t0 = Instant::now();
        assert_eq!(p.due(t0).len(), 2);
        assert!(!p.idle(t0));
        p.clear();
        assert!(p.is_drained());
        assert!(p.idle(t0), "cleared: nothing left to play");
        p.push_audio(2, &[1; 800]);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(sent(&p.due(t1), rate), ["100ms"], "a fresh burst");
        assert!(!p.idle(t1 + Duration::from_millis(99)));
        assert!(p.idle(t1 + Duration::from_millis(100)));
    }
}
