//! What the campaign side of the runtime shares: the store, the clock, Exotel, pacing and the
//! node-wide concurrency tokens. Cloned into every campaign actor and dial.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Semaphore;

use super::{CallRegistryHandle, LiveDials};
use crate::call::fallback_audio::Readiness;
use crate::clock::Clock;
use crate::config::Settings;
use crate::conversation::playbook_catalog::PlaybookCatalog;
use crate::domain::CampaignStatus;
use crate::scheduling::Pacer;
use crate::store::{Store, StoreError};
use crate::telephony::exotel::{call_token, CallRef, ExotelClient};

/// How many times a pause is written before giving up (about 20 s with the backoff).
const PAUSE_ATTEMPTS: u32 = 6;

#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub exotel: ExotelClient,
    /// Spaces Exotel API requests (`EXOTEL_CALLS_PER_MINUTE`) across every campaign.
    pub pacer: Arc<Pacer>,
    /// One permit per live call on this node (`MAX_CONCURRENT_CALLS`).
    pub node_tokens: Arc<Semaphore>,
    /// The URL Exotel reaches us at (callbacks, media socket).
    pub public_url: String,
    /// The URL the other nodes reach this one at (`NODE_URL`), recorded with each heartbeat.
    pub node_url: String,
    pub registry: CallRegistryHandle,
    /// Dials running in this process (reconciliation leaves their claims alone).
    pub live_dials: LiveDials,
    /// Set once on SIGTERM/SIGINT: from then on no dial may reach Exotel (see `draining`).
    pub drain: Drain,
    /// When this process started: calls placed before it belong to an earlier run.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Finished calls the database would not take, until it does (`SPOOL_DIR`).
    pub spool: crate::call::spool::Spool,
    /// The playbooks' pre-rendered apology, "one moment" and time-up lines
    /// (`FALLBACK_AUDIO_DIR`), handed to each call whose lines are ready.
    pub fallback_audio: crate::call::fallback_audio::FallbackAudio,
    /// Each placed call's greeting, synthesised while its phone rings (`GREETING_AT_DIAL`).
    pub greetings: crate::call::greeting_audio::GreetingAudio,
    /// Live calls' sessions copied to Redis for other nodes and outside tools (`REDIS_URL`;
    /// a no-op without).
    pub session_mirror: crate::session_mirror::SessionMirror,
}

/// The node's shutdown flag, and a signal for whoever waits on it.
#[derive(Clone, Default, Debug)]
pub struct Drain {
    flag: Arc<AtomicBool>,
    signal: Arc<tokio::sync::Notify>,
}

impl Engine {
    /// The node is shutting down: dials still waiting for their pacing slot give their claim
    /// back instead of calling anyone whose callbacks we could no longer take.
    pub fn draining(&self) -> bool {
        self.drain.flag.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.drain.flag.store(true, Ordering::Release);
        self.drain.signal.notify_waiters();
    }

    /// Returns once the node is draining (at once if it already is): a dial waiting for its
    /// pacing slot wakes up and gives its claim back rather than sit out the shutdown.
    pub async fn until_draining(&self) {
        loop {
            // Registered before the check, so a drain between the two is not missed.
            let notified = self.drain.signal.notified();
            if self.draining() {
                return;
            }
            notified.await;
        }
    }

    /// Pauses a campaign with a `status_reason` operators can read (a provider refused our
    /// key, say). The pause must reach the database, or another node (or this one after a
    /// restart) would go on dialing: a failed write is retried with backoff; a campaign
    /// that is no longer running has nothing to pause.
    pub async fn pause_campaign_because(&self, id: i64, reason: &str) {
        tracing::error!(campaign_id = id, %reason, "dialing stopped");
        let mut backoff = std::time::Duration::from_millis(200);
        for attempt in 1..=PAUSE_ATTEMPTS {
            let paused = CampaignStatus::Paused;
            let result = self
                .store
                .transition_campaign_because(id, paused, Some(reason), self.clock.now())
                .await;
            let failure = match result {
                Ok(_) => return,
                Err(StoreError::NotFound(_)) => return,
                // Not running any more (paused, completed), or changed under us: look again.
                Err(StoreError::Conflict(why)) => match self.store.campaign(id).await {
                    Ok(c) if c.status != CampaignStatus::Running => return,
                    _ => why,
                },
                Err(e) => e.to_string(),
            };
            tracing::warn!(campaign_id = id, attempt, %failure, "the pause was not saved");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
        }
        tracing::error!(
            campaign_id = id,
            "the pause could not be saved: this node stops dialing it, others may not"
        );
    }

    /// How long a DIALING claim may wait for Exotel's answer before it is reconciled.
    pub fn dial_lease(&self) -> Duration {
        self.reconcile_after().unwrap_or(Duration::seconds(120))
    }

    /// How long an answered call's claim lives: the call's time limit plus a grace period for
    /// a late terminal callback. A lease that runs out is reconciled with Exotel's Call Details.
    pub fn call_lease(&self) -> Duration {
        if let Some(lease) = self.reconcile_after() {
            // Safe however short: a call Exotel still reports live only gets its lease extended.
            return lease;
        }
        Duration::minutes(i64::from(self.settings.max_call_duration_minutes))
            + Duration::seconds(i64::from(self.settings.exotel.ring_timeout_seconds) + 120)
    }

    /// `RECONCILE_AFTER_SECONDS`, when set.
    fn reconcile_after(&self) -> Option<Duration> {
        self.settings
            .reconcile_after_seconds
            .map(|s| Duration::seconds(i64::from(s)))
    }

    /// How long after a dial falls in doubt Exotel's call list is first asked about it.
    pub fn settle_after(&self) -> Duration {
        Duration::seconds(i64::from(self.settings.exotel.settle_after_seconds))
    }

    /// How soon a call whose claim ran out, but which Exotel still reports live, is asked about
    /// again. Its claim ran out because the process holding it is gone (SIGKILL, a lost node,
    /// a restart): its status callback may go to that dead process and never be seen, so the
    /// call is polled at the pace of the in-doubt lookups, not handed a whole call's lease
    /// (which held a dead node's ringing call, and its campaign, open for ~12 minutes).
    pub fn recheck_orphaned_call(&self) -> Duration {
        self.settle_after()
    }

    /// Whether the fallback lines of a campaign's playbook (by its stored file name) are
    /// rendered: `FALLBACK_AUDIO_REQUIRED` holds its dials until they are. A playbook that no
    /// longer loads holds nothing here: its call reports it.
    pub fn fallback_audio_readiness(&self, playbook_file: &str) -> Readiness {
        let catalog = PlaybookCatalog::new(&self.settings.playbooks_dir);
        match catalog.load(playbook_file) {
            Ok(playbook) => self.fallback_audio.readiness(&playbook),
            Err(_) => Readiness::Ready,
        }
    }

    /// Where Exotel posts this call's status callbacks: its ids and a token that opens this
    /// call only (`call_token`), never the shared secret.
    pub fn status_callback_url(&self, call: &CallRef) -> String {
        format!(
            "{}/webhooks/exotel/call-status?{}",
            self.public_url,
            self.call_query(call)
        )
    }

    /// Our media socket as Exotel must open it, for the call `custom_field` names. A custom
    /// field that is not ours gets a URL that opens nothing (the socket is refused).
    pub fn media_url(&self, custom_field: &str) -> String {
        let ws = self
            .public_url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        let query = match CallRef::decode(custom_field) {
            Some(call) => self.call_query(&call),
            None => "token=".to_string(),
        };
        format!("{ws}/media?sample-rate=8000&{query}")
    }

    /// `ref=<ids>&token=<per-call token>`.
    fn call_query(&self, call: &CallRef) -> String {
        let ids: String = url::form_urlencoded::byte_serialize(call.encode().as_bytes()).collect();
        let token = call_token::mint(&self.settings.webhook_secret, call);
        format!("ref={ids}&token={token}")
    }
}
