//! `FallbackAudio`: the node's fallback lines, in memory, backed by the disk cache and rendered
//! in the background when missing. Cheap to clone; one per process (in the `Engine`).
//!
//! Which rates are rendered eagerly: 8 kHz only, the rate our media URL asks Exotel for
//! (`Engine::media_url`), so every call of a normal deployment finds its lines ready. A socket
//! that announces 16 or 24 kHz in its `start` is rare; its first call at that rate triggers the
//! rendering (and goes without), every later one finds the lines ready, and the files outlive
//! the process, so the next start loads them too. Rendering all three rates for every
//! playbook at start would triple the TTS requests taken from the calls' concurrency.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dashmap::{DashMap, DashSet};
use tokio::sync::Semaphore;

use super::disk::{DiskCache, LoadError};
use super::line_key::{spoken_without_lead, LineKey, LineKind};
use super::render::{elevenlabs_renderer, Render};
use super::{FallbackLine, FallbackLines};
use crate::config::Settings;
use crate::conversation::playbook::Playbook;
use crate::providers::elevenlabs::ElevenLabsClient;
use crate::providers::error::{Provider, ProviderError};

/// The rates Exotel streams at (the socket accepts these).
pub const RATES: [u32; 3] = [8000, 16000, 24000];
/// Rendered at start: the rate we ask Exotel for.
pub const EAGER_RATES: [u32; 1] = [8000];

/// How a failed render is retried: `attempts` tries, the waits doubling from `first_wait` up
/// to `max_wait`, each try bounded by `deadline` (a TTS that stalls must not hold the queue).
/// After the last try the line waits for the next call that asks for it.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_wait: Duration,
    pub max_wait: Duration,
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(30),
            deadline: Duration::from_secs(20),
        }
    }
}

/// Whether a playbook's fallback lines are there for its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Being rendered (or waiting to be retried): soon.
    Rendering,
    /// The TTS refused our key or quota: not until an operator acts.
    Refused(ProviderError),
}

/// A playbook's lines as spoken (lead variables left out), by playbook name.
#[derive(Debug, Clone)]
struct PlaybookLines {
    texts: [(LineKind, String); 3],
    language: String,
    voice: Option<String>,
}

impl PlaybookLines {
    fn of(playbook: &Playbook) -> PlaybookLines {
        let text = |kind: LineKind| (kind, spoken_without_lead(kind.template(playbook)));
        PlaybookLines {
            texts: LineKind::ALL.map(text),
            language: playbook.language.clone(),
            voice: playbook.persona.voice_id.clone(),
        }
    }
}

struct Inner {
    disk: DiskCache,
    /// `None` when no TTS is configured: lines on disk are still used.
    render: Option<Render>,
    model: String,
    /// `ELEVENLABS_VOICE_ID`, for playbooks that name no voice.
    default_voice: Option<String>,
    retry: RetryPolicy,
    ready: DashMap<LineKey, Arc<[i16]>>,
    rendering: DashSet<LineKey>,
    /// One render at a time: the TTS account's concurrency belongs to the calls.
    render_slot: Semaphore,
    playbooks: RwLock<HashMap<String, PlaybookLines>>,
    /// The TTS refused us for good (a bad key, no quota): nothing more is rendered by this
    /// process, and the dialer says why it holds the campaigns that would need the lines.
    refused: RwLock<Option<ProviderError>>,
}

#[derive(Clone)]
pub struct FallbackAudio {
    inner: Arc<Inner>,
}

impl FallbackAudio {
    pub fn new(
        dir: impl Into<PathBuf>,
        render: Option<Render>,
        model: &str,
        default_voice: Option<String>,
        retry: RetryPolicy,
    ) -> FallbackAudio {
        FallbackAudio {
            inner: Arc::new(Inner {
                disk: DiskCache::new(dir),
                render,
                model: model.to_string(),
                default_voice,
                retry,
                ready: DashMap::new(),
                rendering: DashSet::new(),
                render_slot: Semaphore::new(1),
                playbooks: RwLock::new(HashMap::new()),
                refused: RwLock::new(None),
            }),
        }
    }

    /// The node's cache: `FALLBACK_AUDIO_DIR`, rendered by ElevenLabs when it has a key.
    pub fn from_settings(settings: &Settings) -> FallbackAudio {
        let tts = &settings.elevenlabs;
        let render = tts
            .api_key
            .is_some()
            .then(|| elevenlabs_renderer(ElevenLabsClient::new(tts.clone())));
        FallbackAudio::new(
            settings.fallback_audio_dir.clone(),
            render,
            &tts.model,
            tts.voice_id.clone(),
            RetryPolicy::default(),
        )
    }

    /// At start: learns the playbooks' lines, loads what the disk has at every rate, and
    /// renders in the background what is missing at the eager rates.
    pub fn prepare(&self, playbooks: &[Playbook]) {
        for playbook in playbooks {
            let lines = PlaybookLines::of(playbook);
            for (kind, _) in &lines.texts {
                if kind.template(playbook).contains("{{") {
                    tracing::warn!(
                        playbook = %playbook.name,
                        field = kind.field(),
                        "a fallback line holds template variables: it is pre-rendered once for every lead, so they are left out"
                    );
                }
            }
            self.register(playbook.name.clone(), lines.clone());
            for rate in RATES {
                for key in self.keys(&lines, lines.voice.as_deref(), rate) {
                    if self.load(&key) || !EAGER_RATES.contains(&rate) {
                        continue;
                    }
                    self.render_later(key);
                }
            }
        }
        tracing::info!(
            dir = %self.inner.disk.dir().display(),
            playbooks = playbooks.len(),
            loaded = self.inner.ready.len(),
            rendering = self.inner.rendering.len(),
            "fallback audio prepared"
        );
    }

    /// The lines of a playbook known at start, for a voice (`None`: the playbook's own, else
    /// `ELEVENLABS_VOICE_ID`) and rate; `None` while any of them is not ready (rendering is
    /// started for the missing ones).
    pub fn lines(
        &self,
        playbook_name: &str,
        voice_id: Option<&str>,
        sample_rate: u32,
    ) -> Option<Arc<FallbackLines>> {
        let lines = self
            .inner
            .playbooks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(playbook_name)
            .cloned()?;
        let voice = voice_id.or(lines.voice.as_deref());
        self.assemble(&lines, voice, sample_rate)
    }

    /// As `lines`, for the playbook a call actually loaded: a playbook added or edited since
    /// the start is learnt here (its lines are rendered for the next call).
    pub fn lines_for(&self, playbook: &Playbook, sample_rate: u32) -> Option<Arc<FallbackLines>> {
        let lines = PlaybookLines::of(playbook);
        self.register(playbook.name.clone(), lines.clone());
        self.assemble(&lines, playbook.persona.voice_id.as_deref(), sample_rate)
    }

    /// Whether a campaign of this playbook may dial: its lines at the rate we ask Exotel for
    /// are ready (asking starts rendering the missing ones), or the TTS refused us.
    pub fn readiness(&self, playbook: &Playbook) -> Readiness {
        if self.lines_for(playbook, EAGER_RATES[0]).is_some() {
            return Readiness::Ready;
        }
        match self.refused() {
            Some(e) => Readiness::Refused(e),
            None => Readiness::Rendering,
        }
    }

    /// Why no line will be rendered by this process: the TTS refused our key or quota.
    pub fn refused(&self) -> Option<ProviderError> {
        self.inner
            .refused
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Lines ready in memory (for tests and `/debug`).
    pub fn ready_count(&self) -> usize {
        self.inner.ready.len()
    }

    fn register(&self, name: String, lines: PlaybookLines) {
        self.inner
            .playbooks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, lines);
    }

    fn keys(&self, lines: &PlaybookLines, voice: Option<&str>, rate: u32) -> [LineKey; 3] {
        let voice = voice
            .map(String::from)
            .or_else(|| self.inner.default_voice.clone());
        lines.texts.clone().map(|(_, text)| LineKey {
            text,
            voice: voice.clone(),
            model: self.inner.model.clone(),
            language: lines.language.clone(),
            sample_rate: rate,
        })
    }

    fn assemble(
        &self,
        lines: &PlaybookLines,
        voice: Option<&str>,
        rate: u32,
    ) -> Option<Arc<FallbackLines>> {
        let keys = self.keys(lines, voice, rate);
        let mut found = Vec::with_capacity(3);
        for key in keys {
            let cached = || self.inner.ready.get(&key).map(|pcm| pcm.clone());
            match cached().or_else(|| self.load(&key).then(cached).flatten()) {
                Some(pcm) => found.push(FallbackLine {
                    text: key.text.clone(),
                    pcm,
                }),
                None => self.render_later(key),
            }
        }
        let [apology, one_moment, time_up]: [FallbackLine; 3] = found.try_into().ok()?;
        Some(Arc::new(FallbackLines {
            apology,
            one_moment,
            time_up,
        }))
    }

    /// Reads the line's file into memory; false when missing or corrupt (then it is to be
    /// rendered, and the new file replaces the bad one).
    fn load(&self, key: &LineKey) -> bool {
        match self.inner.disk.load(key) {
            Ok(pcm) => {
                self.inner.ready.insert(key.clone(), pcm.into());
                true
            }
            Err(LoadError::Missing) => false,
            Err(LoadError::Corrupt(why)) => {
                tracing::warn!(file = %key.file_name(), why, "fallback audio file ignored; rendering it again");
                false
            }
        }
    }

    /// Renders the line in the background (once at a time per line), with retries.
    fn render_later(&self, key: LineKey) {
        let Some(render) = self.inner.render.clone() else {
            return;
        };
        if self.refused().is_some() || !self.inner.rendering.insert(key.clone()) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            me.render_with_retries(&render, &key).await;
            me.inner.rendering.remove(&key);
        });
    }

    async fn render_with_retries(&self, render: &Render, key: &LineKey) {
        let retry = self.inner.retry;
        let mut wait = retry.first_wait;
        for attempt in 1..=retry.attempts {
            // Held until a refusal is recorded, so no line queued behind asks again.
            let slot = self.inner.render_slot.acquire().await;
            if self.refused().is_some() {
                return;
            }
            let rendered = tokio::time::timeout(retry.deadline, render(key.clone())).await;
            let why = match rendered {
                Ok(Ok(pcm)) => match self.inner.disk.store(key, &pcm) {
                    Ok(_) => {
                        self.inner.ready.insert(key.clone(), pcm.into());
                        tracing::info!(file = %key.file_name(), rate = key.sample_rate, "fallback line rendered");
                        return;
                    }
                    Err(e) => {
                        // Still usable by this process; the next start renders it again.
                        self.inner.ready.insert(key.clone(), pcm.into());
                        tracing::warn!(file = %key.file_name(), error = %e, "fallback line rendered but not saved");
                        return;
                    }
                },
                Ok(Err(e)) if e.is_permanent() => {
                    tracing::error!(file = %key.file_name(), error = %e, "the TTS refused to render fallback lines; none will be rendered until the key or quota is fixed and the node restarted");
                    *self
                        .inner
                        .refused
                        .write()
                        .unwrap_or_else(|p| p.into_inner()) = Some(e);
                    return;
                }
                Ok(Err(e)) => e,
                Err(_) => {
                    let why = format!("no answer within {:?}", retry.deadline);
                    ProviderError::timeout(Provider::ElevenLabs, why)
                }
            };
            drop(slot);
            tracing::warn!(file = %key.file_name(), attempt, error = %why, "rendering a fallback line failed");
            if attempt < retry.attempts {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(retry.max_wait);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::providers::error::ProviderErrorKind;

    /// A TTS that counts its requests and fails the first `failures` of them.
    fn counting_tts(failures: u32) -> (Render, Arc<AtomicU32>) {
        failing_tts(failures, ProviderErrorKind::Transient)
    }

    /// As `counting_tts`, failing with errors of `kind`.
    fn failing_tts(failures: u32, kind: ProviderErrorKind) -> (Render, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = calls.clone();
        let render: Render = Arc::new(move |key: LineKey| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n < failures {
                    let e = ProviderError::new(Provider::ElevenLabs, kind, "scripted failure");
                    return Err(e);
                }
                Ok(crate::sandbox::voice_codec::encode(
                    &key.text,
                    key.sample_rate,
                ))
            })
        });
        (render, calls)
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            first_wait: Duration::from_millis(10),
            max_wait: Duration::from_millis(20),
            deadline: Duration::from_secs(5),
        }
    }

    fn playbook() -> Playbook {
        let mut p = Playbook::load(std::path::Path::new(
            "tests/fixtures/playbooks/test_short.yaml",
        ))
        .unwrap();
        p.closing.one_moment = "One moment, {{lead_name}}!".into();
        p
    }

    fn cache(dir: &std::path::Path, render: Option<Render>) -> FallbackAudio {
        FallbackAudio::new(
            dir,
            render,
            "eleven_flash_v2_5",
            Some("voice-a".into()),
            quick(),
        )
    }

    async fn until_ready(audio: &FallbackAudio, p: &Playbook, rate: u32) -> Arc<FallbackLines> {
        for _ in 0..500 {
            if let Some(lines) = audio.lines(&p.name, None, rate) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the lines were never ready");
    }

    #[tokio::test]
    async fn missing_lines_are_rendered_once_saved_and_loaded_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = playbook();
        let (tts, calls) = counting_tts(0);
        let first = cache(dir.path(), Some(tts.clone()));
        first.prepare(std::slice::from_ref(&p));
        let lines = until_ready(&first, &p, 8000).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "one request per line, 8 kHz only"
        );
        assert_eq!(lines.apology.text, "Sorry, a problem. Bye!");
        assert_eq!(
            lines.one_moment.text, "One moment!",
            "lead variables left out"
        );
        assert_eq!(lines.time_up.text, "Time is up, bye!");
        assert_eq!(
            &lines.one_moment.pcm[..],
            &crate::sandbox::voice_codec::encode("One moment!", 8000)[..]
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);

        // A second start: everything comes from the disk, at once, without the TTS.
        let second = cache(dir.path(), Some(tts));
        second.prepare(std::slice::from_ref(&p));
        assert!(second.lines(&p.name, None, 8000).is_some());
        assert!(second.lines_for(&p, 8000).is_some());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_ignored_and_rendered_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = playbook();
        let (tts, calls) = counting_tts(0);
        let first = cache(dir.path(), Some(tts.clone()));
        first.prepare(std::slice::from_ref(&p));
        let lines = until_ready(&first, &p, 8000).await;
        let key = LineKey {
            text: lines.time_up.text.clone(),
            voice: Some("voice-a".into()),
            model: "eleven_flash_v2_5".into(),
            language: p.language.clone(),
            sample_rate: 8000,
        };
        let path = DiskCache::new(dir.path()).path(&key);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&path, &bytes).unwrap();

        let second = cache(dir.path(), Some(tts));
        second.prepare(std::slice::from_ref(&p));
        assert!(
            second.lines(&p.name, None, 8000).is_none(),
            "not with a bad file"
        );
        let again = until_ready(&second, &p, 8000).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "only the bad line is rendered"
        );
        assert_eq!(
            DiskCache::new(dir.path()).load(&key).unwrap()[..],
            again.time_up.pcm[..]
        );
    }

    #[tokio::test]
    async fn a_failing_tts_is_retried_and_other_rates_are_rendered_on_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = playbook();
        let (tts, calls) = counting_tts(2);
        let audio = cache(dir.path(), Some(tts));
        audio.prepare(std::slice::from_ref(&p));
        assert_eq!(audio.readiness(&p), Readiness::Rendering);
        until_ready(&audio, &p, 8000).await;
        assert_eq!(audio.readiness(&p), Readiness::Ready);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            5,
            "two failures, then three lines"
        );
        // 16 kHz: not rendered at start; the first call goes without, a later one has them.
        assert!(audio.lines_for(&p, 16000).is_none());
        let lines = until_ready(&audio, &p, 16000).await;
        assert_eq!(
            lines.apology.pcm.len(),
            crate::sandbox::voice_codec::encode("Sorry, a problem. Bye!", 16000).len()
        );
        // Another voice is another set of lines.
        assert!(audio.lines(&p.name, Some("voice-b"), 8000).is_none());
    }

    #[tokio::test]
    async fn a_refused_key_is_asked_once_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let p = playbook();
        let (tts, calls) = failing_tts(u32::MAX, ProviderErrorKind::Auth);
        let audio = cache(dir.path(), Some(tts));
        audio.prepare(std::slice::from_ref(&p));
        for _ in 0..200 {
            if audio.refused().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let refused = audio.refused().expect("the refusal is remembered");
        assert_eq!(refused.kind, ProviderErrorKind::Auth);
        // Calls asking for the lines start no new rendering; dials are refused.
        assert!(audio.lines_for(&p, 8000).is_none());
        assert_eq!(audio.readiness(&p), Readiness::Refused(refused.clone()));
        assert!(audio.lines_for(&p, 16000).is_none());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one refused request, not six tries per line"
        );
    }

    #[tokio::test]
    async fn without_a_tts_only_lines_on_disk_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let p = playbook();
        let audio = cache(dir.path(), None);
        audio.prepare(std::slice::from_ref(&p));
        assert!(audio.lines_for(&p, 8000).is_none());
        assert!(audio.lines("no_such_playbook", None, 8000).is_none());
        assert_eq!(audio.ready_count(), 0);
    }
}
