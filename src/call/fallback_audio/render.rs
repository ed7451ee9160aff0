//! How a line is rendered: through the TTS's public streaming call, gathered whole. A
//! function value, so the cache can be tested with a counting fake.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::StreamExt;

use super::LineKey;
use crate::providers::elevenlabs::ElevenLabsClient;

/// Renders one line to PCM16 at `key.sample_rate`; the error says why, for the log.
pub type Render =
    Arc<dyn Fn(LineKey) -> BoxFuture<'static, Result<Vec<i16>, String>> + Send + Sync>;

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
                .await
                .map_err(|e| e.to_string())?;
            futures::pin_mut!(stream);
            let mut pcm = Vec::new();
            while let Some(chunk) = stream.next().await {
                pcm.extend(chunk.map_err(|e| e.to_string())?);
            }
            if pcm.is_empty() {
                return Err("the TTS answered no audio".into());
            }
            Ok(pcm)
        })
    })
}
