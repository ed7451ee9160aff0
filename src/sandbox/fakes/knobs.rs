//! Latency and failure knobs shared by the fakes, adjustable while they run (tests inject
//! failures; the sandbox rehearses slow or flaky providers).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use super::profile::{Delay, ProfileName, Timings};

#[derive(Debug, Default)]
struct Inner {
    /// Time to first result / token / byte, in ms.
    first_ms: AtomicU64,
    /// Random extra delay up to this, in ms.
    jitter_ms: AtomicU64,
    /// Per mille of requests that fail.
    failure_per_mille: AtomicU32,
    /// The next N requests fail (HTTP 500, or a dropped socket).
    fail_next: AtomicU32,
    /// The next N requests hang without answering (timeouts).
    hang_next: AtomicU32,
    /// Drop the next connection after this much audio, in ms (0 = never).
    drop_after_ms: AtomicU64,
    /// Failures, hangs and drops handed out so far (the chaos run reports them).
    injected: AtomicU64,
    /// Requests whose text contains this fail (a failure at one point of a conversation,
    /// e.g. its goodbye, without timing the test).
    fail_text: std::sync::Mutex<Option<String>>,
    /// Requests whose text contains this hang without answering.
    hang_text: std::sync::Mutex<Option<String>>,
    // ── unkind, as real providers are (shared/specs/real-world.md) ──
    /// LLM: stall after the first token; TTS: stall after the first audio chunk, in ms
    /// (0 = never, `u64::MAX` = for ever).
    stall_after_first_ms: AtomicU64,
    /// LLM: end the stream without `data: [DONE]`.
    omit_done: std::sync::atomic::AtomicBool,
    /// Cut the body at odd byte offsets: SSE split inside multi-byte characters, PCM chunks
    /// of odd length (a sample split across reads).
    odd_chunks: std::sync::atomic::AtomicBool,
    /// The next N messages with words get a field the client reads with the wrong type
    /// (Deepgram: a result's `is_final` as a string; OpenAI: a text chunk's `content` as a
    /// list), as a provider that changed its format under us would send them.
    wrong_types_next: AtomicU32,
    /// Deepgram: the final and `speech_final` come this long after the last voiced audio
    /// (0 = at the utterance's end mark, the kind old behaviour).
    endpointing_ms: AtomicU64,
    /// Deepgram: the first interim this long after speech starts (0 = at once).
    interim_first_ms: AtomicU64,
    /// Deepgram: at most one interim per this much audio (0 = every few characters).
    interim_every_ms: AtomicU64,
    /// Deepgram: interims leave out the last this many words heard (a recogniser whose
    /// interims trail the audio, so the final has words no interim had).
    interim_lag_words: AtomicU32,
    /// Deepgram: `UtteranceEnd` after this much silence following the final (0 = right after
    /// the final).
    utterance_end_ms: AtomicU64,
    /// Provider streams (sockets, streamed responses) open right now.
    open_streams: std::sync::atomic::AtomicUsize,
    /// Provider streams ever opened.
    opened_total: AtomicU64,
    /// TCP connections accepted (the HTTP fakes): a client that keeps its pool warm opens few.
    connections: AtomicU64,
    /// Deepgram: the next connection stops answering (sends nothing more, keeps reading)
    /// after this much audio, in ms (0 = never; taken once).
    mute_after_ms: AtomicU64,
    /// Deepgram: finals whose words contain this come `hold_final_ms` later than they would
    /// (a slow tail of the service, put where a test needs it: the `speech_final` for the
    /// words before a breath landing after the caller went on).
    hold_final_text: std::sync::Mutex<Option<String>>,
    hold_final_ms: AtomicU64,
    /// The latency profile's stage timings (`None`: the instant profile).
    timings: std::sync::Mutex<Option<Timings>>,
}

fn set_pattern(slot: &std::sync::Mutex<Option<String>>, pattern: &str) {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(pattern.to_lowercase());
}

fn matches(slot: &std::sync::Mutex<Option<String>>, text: &str) -> bool {
    let pattern = slot.lock().unwrap_or_else(|p| p.into_inner());
    pattern
        .as_deref()
        .is_some_and(|p| text.to_lowercase().contains(p))
}

/// Cheap to clone; all clones share the same settings.
#[derive(Debug, Clone, Default)]
pub struct Knobs(Arc<Inner>);

impl Knobs {
    pub fn latency(&self, first_ms: u64, jitter_ms: u64) -> &Self {
        self.0.first_ms.store(first_ms, Ordering::SeqCst);
        self.0.jitter_ms.store(jitter_ms, Ordering::SeqCst);
        self
    }

    pub fn failure_rate(&self, rate: f64) -> &Self {
        self.0
            .failure_per_mille
            .store((rate.clamp(0.0, 1.0) * 1000.0) as u32, Ordering::SeqCst);
        self
    }

    pub fn fail_next(&self, n: u32) -> &Self {
        self.0.fail_next.store(n, Ordering::SeqCst);
        self
    }

    /// Every request whose text contains `pattern` (case-insensitive) fails.
    pub fn fail_texts_containing(&self, pattern: &str) -> &Self {
        set_pattern(&self.0.fail_text, pattern);
        self
    }

    /// Whether a request for this text should fail (`fail_texts_containing`).
    pub fn should_fail_text(&self, text: &str) -> bool {
        self.counted(matches(&self.0.fail_text, text))
    }

    /// Every request whose text contains `pattern` (case-insensitive) hangs.
    pub fn hang_texts_containing(&self, pattern: &str) -> &Self {
        set_pattern(&self.0.hang_text, pattern);
        self
    }

    /// Whether a request for this text should hang (`hang_texts_containing`).
    pub fn should_hang_text(&self, text: &str) -> bool {
        self.counted(matches(&self.0.hang_text, text))
    }

    pub fn hang_next(&self, n: u32) -> &Self {
        self.0.hang_next.store(n, Ordering::SeqCst);
        self
    }

    pub fn drop_after(&self, audio_ms: u64) -> &Self {
        self.0.drop_after_ms.store(audio_ms, Ordering::SeqCst);
        self
    }

    /// Plays a latency profile (`--profile`): `instant` leaves the fixed latency above.
    pub fn profile(&self, profile: ProfileName) -> &Self {
        *self.0.timings.lock().unwrap_or_else(|p| p.into_inner()) = profile.timings();
        self
    }

    /// The realistic profile's stage timings, when it is on.
    pub fn timings(&self) -> Option<Timings> {
        *self.0.timings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A sample of one stage of the profile (zero under the instant profile).
    pub fn sample(&self, stage: impl Fn(&Timings) -> Delay) -> Duration {
        self.timings()
            .map(|t| stage(&t).sample(&mut rand::thread_rng()))
            .unwrap_or(Duration::ZERO)
    }

    /// The delay before the first result, with jitter.
    pub fn first_delay(&self) -> Duration {
        let jitter = self.0.jitter_ms.load(Ordering::SeqCst);
        let extra = if jitter > 0 {
            rand::thread_rng().gen_range(0..=jitter)
        } else {
            0
        };
        Duration::from_millis(self.0.first_ms.load(Ordering::SeqCst) + extra)
    }

    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn counted(&self, injected: bool) -> bool {
        if injected {
            self.0.injected.fetch_add(1, Ordering::SeqCst);
        }
        injected
    }

    /// Whether this request should fail.
    pub fn should_fail(&self) -> bool {
        let rate = self.0.failure_per_mille.load(Ordering::SeqCst);
        let fail = Self::take(&self.0.fail_next)
            || (rate > 0 && rand::thread_rng().gen_range(0..1000) < rate);
        self.counted(fail)
    }

    pub fn should_hang(&self) -> bool {
        self.counted(Self::take(&self.0.hang_next))
    }

    /// Audio time after which to drop this connection (taken once).
    pub fn take_drop_after(&self) -> Option<u64> {
        let ms = self.0.drop_after_ms.swap(0, Ordering::SeqCst);
        self.counted(ms > 0).then_some(ms)
    }

    /// LLM: stall after the first token; TTS: after the first audio chunk (`None` = for ever).
    pub fn stall_after_first(&self, stall: Option<Duration>) -> &Self {
        let ms = stall.map_or(u64::MAX, |d| d.as_millis().max(1) as u64);
        self.0.stall_after_first_ms.store(ms, Ordering::SeqCst);
        self
    }

    /// The stall after the first token/chunk: `None` = no stall, `Some(None)` = for ever.
    pub fn stall(&self) -> Option<Option<Duration>> {
        match self.0.stall_after_first_ms.load(Ordering::SeqCst) {
            0 => None,
            u64::MAX => Some(None),
            ms => Some(Some(Duration::from_millis(ms))),
        }
    }

    pub fn omit_done(&self, on: bool) -> &Self {
        self.0.omit_done.store(on, Ordering::SeqCst);
        self
    }

    pub fn omits_done(&self) -> bool {
        self.0.omit_done.load(Ordering::SeqCst)
    }

    pub fn odd_chunks(&self, on: bool) -> &Self {
        self.0.odd_chunks.store(on, Ordering::SeqCst);
        self
    }

    /// The next `n` messages with words get a field of the wrong type (see the field).
    pub fn wrong_types_next(&self, n: u32) -> &Self {
        self.0.wrong_types_next.store(n, Ordering::SeqCst);
        self
    }

    /// Whether this message should get a wrong-typed field (`wrong_types_next`).
    pub fn take_wrong_type(&self) -> bool {
        self.counted(Self::take(&self.0.wrong_types_next))
    }

    pub fn cuts_odd_chunks(&self) -> bool {
        self.0.odd_chunks.load(Ordering::SeqCst)
    }

    /// Deepgram endpointing by silence, interim timing and `UtteranceEnd`, in ms (see the
    /// fields). All 0 is the old, kind behaviour.
    pub fn endpointing(
        &self,
        endpointing_ms: u64,
        interim_first_ms: u64,
        interim_every_ms: u64,
        utterance_end_ms: u64,
    ) -> &Self {
        self.0
            .endpointing_ms
            .store(endpointing_ms, Ordering::SeqCst);
        self.0
            .interim_first_ms
            .store(interim_first_ms, Ordering::SeqCst);
        self.0
            .interim_every_ms
            .store(interim_every_ms, Ordering::SeqCst);
        self.0
            .utterance_end_ms
            .store(utterance_end_ms, Ordering::SeqCst);
        self
    }

    /// `(endpointing, interim first, interim every, utterance end)`, ms.
    pub fn endpointing_ms(&self) -> (u64, u64, u64, u64) {
        (
            self.0.endpointing_ms.load(Ordering::SeqCst),
            self.0.interim_first_ms.load(Ordering::SeqCst),
            self.0.interim_every_ms.load(Ordering::SeqCst),
            self.0.utterance_end_ms.load(Ordering::SeqCst),
        )
    }

    /// Counts one open provider stream until the guard is dropped.
    pub fn stream_opened(&self) -> OpenStream {
        self.0.open_streams.fetch_add(1, Ordering::SeqCst);
        self.0.opened_total.fetch_add(1, Ordering::SeqCst);
        OpenStream(self.clone())
    }

    /// Provider streams (sockets, streamed responses) open right now: a call that ended must
    /// leave none behind.
    pub fn open_streams(&self) -> usize {
        self.0.open_streams.load(Ordering::SeqCst)
    }

    /// Provider streams ever opened (a reconnect opens another).
    pub fn opened_streams_total(&self) -> u64 {
        self.0.opened_total.load(Ordering::SeqCst)
    }

    /// One more TCP connection accepted.
    pub fn connection_opened(&self) {
        self.0.connections.fetch_add(1, Ordering::SeqCst);
    }

    /// TCP connections accepted so far.
    pub fn connections_opened(&self) -> u64 {
        self.0.connections.load(Ordering::SeqCst)
    }

    /// Deepgram: interims leave out the last `words` words heard (0 = they are up to date).
    pub fn interim_lag_words(&self, words: u32) -> &Self {
        self.0.interim_lag_words.store(words, Ordering::SeqCst);
        self
    }

    /// An interim as this recogniser sends it: `None` when the lag leaves nothing.
    pub fn lagging_interim(&self, text: &str) -> Option<String> {
        let lag = self.0.interim_lag_words.load(Ordering::SeqCst) as usize;
        let words: Vec<&str> = text.split_whitespace().collect();
        let kept = words.len().saturating_sub(lag);
        (kept > 0).then(|| words[..kept].join(" "))
    }

    /// Deepgram: the next connection goes mute after `audio_ms` of audio.
    pub fn mute_after(&self, audio_ms: u64) -> &Self {
        self.0.mute_after_ms.store(audio_ms, Ordering::SeqCst);
        self
    }

    /// Audio time after which this connection goes mute (taken once).
    pub fn take_mute_after(&self) -> Option<u64> {
        let ms = self.0.mute_after_ms.swap(0, Ordering::SeqCst);
        self.counted(ms > 0).then_some(ms)
    }

    /// Deepgram: every final whose words contain `pattern` (case-insensitive; `""` is every
    /// final with words) comes `hold` later than it would. Results keep their order on the
    /// socket (one TCP stream), so what follows it waits behind it, as behind a real slow
    /// final.
    pub fn hold_finals_containing(&self, pattern: &str, hold: Duration) -> &Self {
        set_pattern(&self.0.hold_final_text, pattern);
        self.0
            .hold_final_ms
            .store(hold.as_millis() as u64, Ordering::SeqCst);
        self
    }

    /// Whether any final is held (`hold_finals_containing`).
    pub fn holds_finals(&self) -> bool {
        self.0.hold_final_ms.load(Ordering::SeqCst) > 0
    }

    /// How much later a final with these words comes (`hold_finals_containing`).
    pub fn final_hold(&self, text: &str) -> Duration {
        if matches(&self.0.hold_final_text, text) {
            Duration::from_millis(self.0.hold_final_ms.load(Ordering::SeqCst))
        } else {
            Duration::ZERO
        }
    }

    /// What `GET /_fake/stats` answers.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::json!({
            "open_streams": self.open_streams(),
            "opened_streams_total": self.opened_streams_total(),
            "connections_opened": self.connections_opened(),
            "injected": self.injected(),
        })
    }

    /// How many failures, hangs and drops these knobs have handed out.
    pub fn injected(&self) -> u64 {
        self.0.injected.load(Ordering::SeqCst)
    }
}

/// One open provider stream, counted in `Knobs::open_streams` while it lives.
#[derive(Debug)]
pub struct OpenStream(Knobs);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0 .0.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Odd chunk sizes, cycling: every read boundary lands somewhere new, inside multi-byte
/// characters and inside PCM samples.
pub fn odd_pieces(bytes: &[u8]) -> Vec<Vec<u8>> {
    const SIZES: [usize; 5] = [7, 13, 5, 11, 3];
    let mut out = Vec::new();
    let mut at = 0;
    for size in SIZES.iter().cycle() {
        if at >= bytes.len() {
            break;
        }
        let end = (at + size).min(bytes.len());
        out.push(bytes[at..end].to_vec());
        at = end;
    }
    out
}
