//! Latency and failure knobs shared by the fakes, adjustable while they run (tests inject
//! failures; the sandbox rehearses slow or flaky providers).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

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

    /// How many failures, hangs and drops these knobs have handed out.
    pub fn injected(&self) -> u64 {
        self.0.injected.load(Ordering::SeqCst)
    }
}
