//! The provider clients a call uses, built once per process from the settings.

use crate::config::{ProviderSettings, Settings};
use crate::providers::elevenlabs::ElevenLabsClient;
use crate::providers::openai::OpenAiClient;

#[derive(Clone)]
pub struct CallProviders {
    pub deepgram: ProviderSettings,
    pub openai: OpenAiClient,
    pub elevenlabs: ElevenLabsClient,
}

impl CallProviders {
    pub fn new(settings: &Settings) -> CallProviders {
        CallProviders {
            deepgram: settings.deepgram.clone(),
            openai: OpenAiClient::new(settings.openai.clone()),
            elevenlabs: ElevenLabsClient::new(settings.elevenlabs.clone()),
        }
    }

    /// The clients a new call uses: these, shared by every call of the process (one pool per
    /// provider, kept warm), unless `PROVIDER_POOL_WARM=0` asks for a fresh pair per call —
    /// the old behaviour, whose first turn pays the TCP and TLS handshakes (kept to measure).
    pub fn for_call(&self, settings: &Settings) -> CallProviders {
        if settings.provider_pool_warm {
            self.clone()
        } else {
            CallProviders::new(settings)
        }
    }

    /// Opens a connection to each HTTP provider now and every `KEEP_WARM_EVERY`, for as long
    /// as the process runs (`PROVIDER_POOL_WARM=1`, the default).
    pub fn keep_warm(&self, settings: &Settings) {
        if !settings.provider_pool_warm || Self::missing_setting(settings).is_some() {
            return;
        }
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
