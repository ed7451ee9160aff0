//! ElevenLabs text to speech over the HTTP streaming endpoint, raw PCM at the media socket's
//! rate (`pcm_8000`, `pcm_16000`, `pcm_24000`), so no resampling or decoding on our side.
//!
//! Why HTTP and not the input-streaming WebSocket: we already cut the LLM's tokens into clauses
//! and send each as soon as it is complete, so the WebSocket's own buffering would only add
//! delay; one pooled HTTP/1.1 connection has no per-call handshake, a request is cancelled by
//! dropping it (barge-in), and a failed request is simply retried.

use std::time::Duration;

use futures::{Stream, StreamExt};
use serde_json::json;

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

impl ElevenLabsClient {
    pub fn new(settings: ProviderSettings) -> ElevenLabsClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        ElevenLabsClient { http, settings }
    }

    /// Speaks `text`; the stream yields PCM samples as they arrive. Errors end the stream.
    pub async fn speak(
        &self,
        text: &str,
        voice_id: Option<&str>,
        sample_rate: u32,
        language: &str,
    ) -> Result<impl Stream<Item = Result<Vec<i16>, String>>, String> {
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
        let response = request
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(format!(
                "ElevenLabs {status}: {}",
                body.chars().take(200).collect::<String>()
            ));
        }
        let mut assembler = PcmAssembler::default();
        Ok(response.bytes_stream().map(move |chunk| match chunk {
            Ok(bytes) => Ok(assembler.push(&bytes)),
            Err(e) => Err(e.to_string()),
        }))
    }
}
