//! How a line is rendered: through the TTS's public streaming call, gathered whole. A
//! function value, so the cache can be tested with a counting fake.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::StreamExt;

use super::LineKey;
use crate::providers::elevenlabs::ElevenLabsClient;
use crate::providers::error::{Provider, ProviderError};

/// Renders one line to PCM16 at `key.sample_rate`; the error keeps its kind, so a refused key
/// stops the rendering instead of being retried.
pub type Render =
    Arc<dyn Fn(LineKey) -> BoxFuture<'static, Result<Vec<i16>, ProviderError>> + Send + Sync>;

/// Renders with ElevenLabs (the same client and settings the calls use).
pub fn elevenlabs_renderer(client: ElevenLabsClient) -> Render {
    Arc::new(move |key: LineKey| {
        let client = client.clone();
        Box::pin(async move {
            let stream = client
                .speak(
                    &key.text,
                    key.voice.as_deref(),
                    key.sample_rate,
                    &key.language,
                )
                .await?;
            futures::pin_mut!(stream);
            let mut pcm = Vec::new();
            while let Some(chunk) = stream.next().await {
                pcm.extend(chunk?);
            }
            if pcm.is_empty() {
                let why = "the TTS answered no audio";
                return Err(ProviderError::protocol(Provider::ElevenLabs, why));
            }
            Ok(pcm)
        })
    })
}
