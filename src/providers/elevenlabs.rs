//! ElevenLabs text to speech over the HTTP streaming endpoint, raw PCM at the media socket's
//! rate (`pcm_8000`, `pcm_16000`, `pcm_24000`), so no resampling or decoding on our side.
//!
//! Why HTTP and not the input-streaming WebSocket: we already cut the LLM's tokens into clauses
//! and send each as soon as it is complete, so the WebSocket's own buffering would only add
//! delay; one pooled HTTP/1.1 connection has no per-call handshake, a request is cancelled by
//! dropping it (barge-in), and a failed request is simply retried.

use futures::{Stream, StreamExt};
use serde_json::json;

use super::deadlines::RequestClock;
use super::error::{Provider, ProviderError};
use crate::config::ProviderSettings;
use crate::media::audio::PcmAssembler;

#[derive(Clone)]
pub struct ElevenLabsClient {
    http: reqwest::Client,
    settings: ProviderSettings,
}

/// The `output_format` for a socket's sample rate.
pub fn output_format(sample_rate: u32) -> &'static str {
    match sample_rate {
        16000 => "pcm_16000",
        24000 => "pcm_24000",
        _ => "pcm_8000",
    }
}

/// What a speech stream yields: PCM16 samples as they arrive.
pub type PcmItem = Result<Vec<i16>, ProviderError>;

impl ElevenLabsClient {
    pub fn new(settings: ProviderSettings) -> ElevenLabsClient {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.deadlines.connect)
            .pool_idle_timeout(super::POOL_IDLE)
            .build()
            .unwrap_or_default();
        ElevenLabsClient { http, settings }
    }

    /// Opens (or keeps open) a pooled connection with a cheap request (`GET /v1/models`), so
    /// a caller's turn never waits for TCP and TLS handshakes. Its answer does not matter.
    pub async fn warm(&self) {
        let mut request = self
            .http
            .get(format!("{}/v1/models", self.settings.base_url))
            .timeout(self.settings.deadlines.total);
        if let Some(key) = &self.settings.api_key {
            request = request.header("xi-api-key", key);
        }
        if let Ok(response) = request.send().await {
            let _ = response.bytes().await;
        }
    }

    /// Speaks `text`; the stream yields PCM samples as they arrive, within the deadlines
    /// (first byte, idle gap, total per clause). An error ends the stream. A chunk of odd
    /// length leaves its last byte for the next one (a sample is never split).
    pub async fn speak(
        &self,
        text: &str,
        voice_id: Option<&str>,
        sample_rate: u32,
        language: &str,
    ) -> Result<impl Stream<Item = PcmItem>, ProviderError> {
        let voice = voice_id
            .or(self.settings.voice_id.as_deref())
            .unwrap_or("21m00Tcm4TlvDq8ikWAM");
        let url = format!(
            "{}/v1/text-to-speech/{voice}/stream?output_format={}",
            self.settings.base_url,
            output_format(sample_rate)
        );
        let mut request = self.http.post(url).json(&json!({
            "text": text,
            "model_id": self.settings.model,
            "language_code": language.split('-').next().unwrap_or("en"),
        }));
        if let Some(key) = &self.settings.api_key {
            request = request.header("xi-api-key", key);
        }
        let clock = RequestClock::start(Provider::ElevenLabs, self.settings.deadlines);
        let response = clock
            .headers(request.send())
            .await?
            .map_err(|e| ProviderError::from_transport(Provider::ElevenLabs, e))?;
        if !response.status().is_success() {
            return Err(ProviderError::from_response(Provider::ElevenLabs, response).await);
        }
        let bytes = response
            .bytes_stream()
            .map(|r| r.map_err(|e| ProviderError::from_transport(Provider::ElevenLabs, e)));
        let mut assembler = PcmAssembler::default();
        Ok(clock
            .body(Box::pin(bytes))
            .map(move |chunk| chunk.map(|bytes| assembler.push(&bytes))))
    }
}
