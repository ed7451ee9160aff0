//! The greeting, synthesised while the phone rings.
//!
//! A greeting names the lead, so it cannot be rendered once for everyone like the fallback
//! lines. But it is known the moment Exotel accepts the dial, and the phone then rings for
//! seconds: the dialer asks for it then (`GreetingAudio::prepare`), cut into the clauses the
//! turn-taking core will ask for, each synthesised through the TTS. When the core says the
//! greeting, the `CallActor` plays those clauses from here instead of asking the TTS, so the
//! first frame leaves as soon as the greeting is due.
//!
//! Best effort: a greeting not ready (or rendered at another sample rate) is synthesised
//! live as before. An entry lives until its call takes it or `MAX_AGE` passes (a lead who
//! never answered), and the number of entries is capped (`MAX_ENTRIES`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::clauses::ClauseSplitter;
use super::fallback_audio::{LineKey, Render};
use crate::conversation::playbook::render;
use crate::conversation::playbook_catalog::PlaybookCatalog;
use crate::store::Store;
use crate::telephony::exotel::CallRef;

/// Exotel opens our media socket at this rate (`Engine::media_url` asks for it).
pub const DIAL_SAMPLE_RATE: u32 = 8000;

/// A greeting nobody took (the lead never answered) is dropped after this long.
const MAX_AGE: Duration = Duration::from_secs(300);

/// At most this many greetings are kept (about 64 KB each): beyond, dials render none.
const MAX_ENTRIES: usize = 5_000;

/// Which call a greeting is for: one attempt of one scheduled call.
type Key = (i64, i64);

fn key_of(call: &CallRef) -> Key {
    (call.scheduled_call_id, call.attempt)
}

/// A greeting's audio, clause by clause as the core will ask for them.
#[derive(Debug)]
enum Entry {
    Rendering {
        since: Instant,
    },
    Ready {
        since: Instant,
        clauses: Vec<(String, Arc<[i16]>)>,
    },
}

impl Entry {
    fn since(&self) -> Instant {
        match self {
            Entry::Rendering { since } | Entry::Ready { since, .. } => *since,
        }
    }
}

/// How ready a call's greeting was when its media stream started (for the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Rendered before `start`: the first frame needs no TTS.
    Ready,
    /// Still rendering: its clauses are used if they arrive in time.
    Rendering,
    /// None was prepared (off, no TTS key, or the render failed).
    Missing,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::Rendering => "rendering",
            Readiness::Missing => "missing",
        }
    }
}

/// The node's greetings being prepared and ready, shared by the dialer and the calls.
#[derive(Clone)]
pub struct GreetingAudio {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None`: greetings are not prepared (`GREETING_AT_DIAL=0`, or no TTS key).
    render: Option<Render>,
    playbooks: PlaybookCatalog,
    model: String,
    default_voice: Option<String>,
    entries: DashMap<Key, Entry>,
    counts: Counts,
}

/// What happened to the prepared greetings of this node (tests and the log read them).
#[derive(Debug, Default)]
pub struct Counts {
    /// Media streams that started with their greeting ready.
    pub ready_at_start: std::sync::atomic::AtomicU64,
    /// Greeting clauses played from prepared audio (no TTS at greeting time).
    pub clauses_played: std::sync::atomic::AtomicU64,
}

impl GreetingAudio {
    pub fn new(
        render: Option<Render>,
        playbooks: PlaybookCatalog,
        model: &str,
        default_voice: Option<String>,
    ) -> GreetingAudio {
        GreetingAudio {
            inner: Arc::new(Inner {
                render,
                playbooks,
                model: model.to_string(),
                default_voice,
                entries: DashMap::new(),
                counts: Counts::default(),
            }),
        }
    }

    /// The call was placed: render its greeting in the background. Never fails the dial.
    pub fn prepare(&self, store: Store, call: CallRef) {
        let Some(render) = self.inner.render.clone() else {
            return;
        };
        self.sweep();
        if self.inner.entries.len() >= MAX_ENTRIES {
            return;
        }
        let key = key_of(&call);
        let since = Instant::now();
        self.inner.entries.insert(key, Entry::Rendering { since });
        let me = self.clone();
        tokio::spawn(async move {
            match me.render(&store, &call, render).await {
                Ok(clauses) => {
                    // Only if still wanted: the call may have ended (or taken nothing) meanwhile.
                    if let Some(mut entry) = me.inner.entries.get_mut(&key) {
                        *entry = Entry::Ready { since, clauses };
                    }
                }
                Err(why) => {
                    tracing::warn!(scheduled_call_id = call.scheduled_call_id, %why, "the greeting was not prepared; it will be synthesised live");
                    me.inner.entries.remove(&key);
                }
            }
        });
    }

    async fn render(
        &self,
        store: &Store,
        call: &CallRef,
        render_line: Render,
    ) -> Result<Vec<(String, Arc<[i16]>)>, String> {
        let lead = store.lead(call.lead_id).await.map_err(|e| e.to_string())?;
        let campaign = store
            .campaign(call.campaign_id)
            .await
            .map_err(|e| e.to_string())?;
        let playbook = self
            .inner
            .playbooks
            .load(&campaign.playbook)
            .map_err(|e| e.to_string())?;
        let text = render(&playbook.greeting, &super::template_vars::of(&lead));
        let voice = playbook
            .persona
            .voice_id
            .clone()
            .or_else(|| self.inner.default_voice.clone());
        // All clauses at once, not one after another. Sequential requests on one pooled
        // connection make the HTTP client race a new connection against the one just used
        // (it is not back in the pool yet when the next request starts), and the racing
        // connection is thrown away: a wasted TCP+TLS handshake to the TTS on every dial.
        // Concurrent requests leave the pool as many connections as a greeting needs, reused
        // by the next dial; and the greeting is ready sooner.
        let renders =
            ClauseSplitter::whole(&text).into_iter().map(|clause| {
                let key = LineKey {
                    text: clause.clone(),
                    voice: voice.clone(),
                    model: self.inner.model.clone(),
                    language: playbook.language.clone(),
                    sample_rate: DIAL_SAMPLE_RATE,
                };
                let pcm = render_line(key);
                async move {
                    Ok::<_, String>((clause, Arc::from(pcm.await.map_err(|e| e.to_string())?)))
                }
            });
        futures::future::try_join_all(renders).await
    }

    /// The call's media stream started at `sample_rate`: how ready its greeting is.
    pub fn on_start(&self, call: &CallRef, sample_rate: u32) -> Readiness {
        if sample_rate != DIAL_SAMPLE_RATE {
            self.forget(call);
            return Readiness::Missing;
        }
        let readiness = match self.inner.entries.get(&key_of(call)).as_deref() {
            Some(Entry::Ready { .. }) => Readiness::Ready,
            Some(Entry::Rendering { .. }) => Readiness::Rendering,
            None => Readiness::Missing,
        };
        if readiness == Readiness::Ready {
            self.inner
                .counts
                .ready_at_start
                .fetch_add(1, Ordering::Relaxed);
        }
        readiness
    }

    pub fn counts(&self) -> &Counts {
        &self.inner.counts
    }

    /// The audio of the greeting clause `text` of this call, once (then it is gone).
    pub fn take_clause(&self, call: &CallRef, text: &str) -> Option<Arc<[i16]>> {
        let mut entry = self.inner.entries.get_mut(&key_of(call))?;
        let Entry::Ready { clauses, .. } = &mut *entry else {
            return None;
        };
        let i = clauses.iter().position(|(t, _)| t == text)?;
        self.inner
            .counts
            .clauses_played
            .fetch_add(1, Ordering::Relaxed);
        Some(clauses.remove(i).1)
    }

    /// The call is over (or never needed it): its greeting goes.
    pub fn forget(&self, call: &CallRef) {
        self.inner.entries.remove(&key_of(call));
    }

    /// Greetings waiting to be taken or rendering.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    fn sweep(&self) {
        let now = Instant::now();
        self.inner
            .entries
            .retain(|_, e| now.saturating_duration_since(e.since()) < MAX_AGE);
    }
}
