//! The provider clients a call uses: one pool per provider **per worker thread**, kept warm.
//!
//! Why per thread: a pooled HTTP connection is driven by the task that opened it, on the
//! thread that opened it. Shared by the whole process, a connection opened by the main thread
//! (or by worker A) carries worker B's LLM and TTS streams, and every chunk of them crosses
//! threads: a wake-up through the runtime's eventfd and a context switch each way. Measured
//! (README, "Provider pools per worker thread"), that cost more CPU than the streams' own
//! work. So each actix-web worker warms and keeps its own clients (`start_worker`, run by the
//! app factory on every worker), and a call uses the clients of the thread its media socket
//! runs on (`for_call`).

use std::sync::Arc;
use std::thread::ThreadId;

use dashmap::DashMap;

use crate::config::{ProviderSettings, Settings};
use crate::providers::elevenlabs::ElevenLabsClient;
use crate::providers::openai::OpenAiClient;

#[derive(Clone)]
pub struct CallProviders {
    pub deepgram: ProviderSettings,
    pub openai: OpenAiClient,
    pub elevenlabs: ElevenLabsClient,
    /// Which set of clients this is: clones share it (and their pools).
    pools: Arc<()>,
}

impl CallProviders {
    pub fn new(settings: &Settings) -> CallProviders {
        CallProviders {
            deepgram: settings.deepgram.clone(),
            openai: OpenAiClient::new(settings.openai.clone()),
            elevenlabs: ElevenLabsClient::new(settings.elevenlabs.clone()),
            pools: Arc::default(),
        }
    }

    /// Whether `other` is a clone of these clients (the same connection pools).
    pub fn same_pools(&self, other: &CallProviders) -> bool {
        Arc::ptr_eq(&self.pools, &other.pools)
    }

    /// Opens a connection to each HTTP provider now and every `KEEP_WARM_EVERY`, for as long
    /// as the thread's runtime runs. Spawned on the current thread: the connections it opens
    /// are driven there.
    fn keep_warm(&self) {
        let clients = self.clone();
        actix_rt::spawn(async move {
            let mut every = tokio::time::interval(crate::providers::KEEP_WARM_EVERY);
            loop {
                every.tick().await;
                futures::join!(clients.openai.warm(), clients.elevenlabs.warm());
            }
        });
    }

    /// The first provider variable a live call needs and lacks (sandbox mode fills them in).
    pub fn missing_setting(settings: &Settings) -> Option<&'static str> {
        if settings.deepgram.api_key.is_none() {
            return Some("DEEPGRAM_API_KEY");
        }
        if settings.openai.api_key.is_none() {
            return Some("OPENAI_API_KEY");
        }
        if settings.elevenlabs.api_key.is_none() {
            return Some("ELEVENLABS_API_KEY");
        }
        None
    }
}

/// The process's provider clients: the main thread's (greetings and fallback lines rendered
/// off the call path) and one set per worker thread, made on first use.
#[derive(Clone)]
pub struct ProviderPools {
    settings: Arc<Settings>,
    /// The main thread's clients.
    pub main: CallProviders,
    per_thread: Arc<DashMap<ThreadId, CallProviders>>,
}

impl ProviderPools {
    pub fn new(settings: Arc<Settings>) -> ProviderPools {
        ProviderPools {
            main: CallProviders::new(&settings),
            settings,
            per_thread: Arc::default(),
        }
    }

    /// Whether pools are kept at all (`PROVIDER_POOL_WARM`, on by default) and every provider
    /// is configured.
    fn warm(&self) -> bool {
        self.settings.provider_pool_warm && CallProviders::missing_setting(&self.settings).is_none()
    }

    /// Keeps the main thread's pool warm (called once, on the main thread, at start).
    pub fn start_main(&self) {
        if self.warm() {
            self.main.keep_warm();
        }
    }

    /// Makes this worker thread's clients and keeps them warm, so its first call finds its
    /// connections open. Run by the app factory, which actix-web calls on each worker.
    pub fn start_worker(&self) {
        if self.warm() {
            self.this_thread();
        }
    }

    /// The clients a new call uses: its thread's (one pool per provider and thread, kept
    /// warm), unless `PROVIDER_POOL_WARM=0` asks for a fresh pair per call — the old
    /// behaviour, whose first turn pays the TCP and TLS handshakes (kept to measure).
    pub fn for_call(&self) -> CallProviders {
        if self.settings.provider_pool_warm {
            self.this_thread()
        } else {
            CallProviders::new(&self.settings)
        }
    }

    fn this_thread(&self) -> CallProviders {
        let id = std::thread::current().id();
        if let Some(clients) = self.per_thread.get(&id) {
            return clients.clone();
        }
        let clients = CallProviders::new(&self.settings);
        if self.warm() {
            clients.keep_warm();
        }
        self.per_thread.insert(id, clients.clone());
        clients
    }

    /// How many threads have clients of their own (the main thread's not counted).
    pub fn threads(&self) -> usize {
        self.per_thread.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools() -> ProviderPools {
        let settings = Settings::from_map(&Default::default()).expect("defaults are valid");
        assert!(settings.provider_pool_warm, "pools are the default");
        ProviderPools::new(Arc::new(settings))
    }

    /// One set of clients per thread: a call never shares a connection with another thread's.
    #[test]
    fn each_thread_gets_its_own_clients_and_keeps_them() {
        let pools = pools();
        let here = pools.for_call();
        let again = pools.for_call();
        assert!(here.same_pools(&again));
        let there = {
            let pools = pools.clone();
            std::thread::spawn(move || pools.for_call()).join().unwrap()
        };
        assert!(!here.same_pools(&there));
        assert!(!here.same_pools(&pools.main));
        assert_eq!(pools.threads(), 2);
    }
}
