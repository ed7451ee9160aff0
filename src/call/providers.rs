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
