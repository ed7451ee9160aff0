//! Sends the outbox: each node claims due deliveries one at a time (a lease, so a node that
//! dies mid-send leaves the row to another), POSTs the event signed, and records the result:
//! a 2xx is delivered; anything else (an error status, a refused connection, a timeout) is
//! tried again after a doubling wait, and after the last attempt the delivery is FAILED, kept
//! for the operator to see (`GET /campaigns/{id}/webhook-deliveries`).

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use super::signature;
use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{Store, WebhookDelivery};

/// How often an idle sender looks for due deliveries.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// A claim outlives the send's timeout by this much.
const LEASE_MARGIN: Duration = Duration::from_secs(20);
/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// What the sender needs from the settings.
#[derive(Clone)]
pub struct SenderSettings {
    pub secret: String,
    pub retry_seconds: u32,
    pub max_attempts: u32,
    /// How long a receiver has to answer one POST (`OUTBOUND_WEBHOOK_TIMEOUT_SECONDS`): a
    /// receiver that stalls costs that attempt, and only later deliveries wait.
    pub timeout: Duration,
    /// Our public URL, for the links in an event.
    pub public_url: String,
}

impl SenderSettings {
    /// `None` when no secret is set: then no campaign can have a webhook.
    pub fn from_settings(settings: &Settings, public_url: &str) -> Option<SenderSettings> {
        Some(SenderSettings {
            secret: settings.outbound_webhook_secret.clone()?,
            retry_seconds: settings.outbound_webhook_retry_seconds,
            max_attempts: settings.outbound_webhook_max_attempts,
            timeout: Duration::from_secs(u64::from(settings.outbound_webhook_timeout_seconds)),
            public_url: public_url.to_string(),
        })
    }
}

/// Starts this node's sender; it runs until `running()` says the node is gone.
pub fn spawn_sender(
    store: Store,
    clock: std::sync::Arc<dyn Clock>,
    settings: SenderSettings,
    running: impl Fn() -> bool + 'static,
) {
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    actix_rt::spawn(async move {
        while running() {
            match send_due(&store, &*clock, &client, &settings).await {
                Ok(0) => tokio::time::sleep(POLL_EVERY).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbound webhooks: the outbox could not be read");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    });
}

/// Sends every delivery due now; returns how many were tried.
pub async fn send_due(
    store: &Store,
    clock: &dyn Clock,
    client: &reqwest::Client,
    settings: &SenderSettings,
) -> Result<usize, crate::store::StoreError> {
    let mut tried = 0;
    loop {
        let now = clock.now();
        let lease =
            now + chrono::Duration::from_std(settings.timeout + LEASE_MARGIN).unwrap_or_default();
        let Some(delivery) = store.claim_webhook_delivery(now, lease).await? else {
            return Ok(tried);
        };
        tried += 1;
        let outcome = send_one(store, client, settings, &delivery).await;
        let now = clock.now();
        let attempt = delivery.attempts + 1;
        let (delivered, status, error) = match outcome {
            Ok(status) if (200..300).contains(&status) => (true, Some(status), None),
            Ok(status) => (false, Some(status), Some(format!("HTTP {status}"))),
            Err(e) => (false, None, Some(e)),
        };
        let retry_at = (!delivered && attempt < i64::from(settings.max_attempts)).then(|| {
            let wait = (i64::from(settings.retry_seconds) << (attempt - 1).min(20))
                .min(MAX_BACKOFF_SECONDS);
            now + chrono::Duration::seconds(wait)
        });
        if !delivered {
            tracing::warn!(
                delivery = delivery.id,
                campaign_id = delivery.campaign_id,
                attempt,
                error = error.as_deref().unwrap_or(""),
                will_retry = retry_at.is_some(),
                "outbound webhook not delivered"
            );
        }
        store
            .record_webhook_attempt(
                delivery.id,
                delivered,
                status,
                error.as_deref(),
                retry_at,
                now,
            )
            .await?;
    }
}

/// POSTs one delivery; the receiver's status, or why there was none.
async fn send_one(
    store: &Store,
    client: &reqwest::Client,
    settings: &SenderSettings,
    delivery: &WebhookDelivery,
) -> Result<u16, String> {
    let body = body_of(store, settings, delivery).await?;
    let signed = signature::sign(&settings.secret, Utc::now().timestamp(), body.as_bytes());
    let response = client
        .post(&delivery.url)
        .header("Content-Type", "application/json")
        .header(
            "User-Agent",
            concat!("voice-runtime/", env!("CARGO_PKG_VERSION")),
        )
        .header(signature::HEADER, signed)
        .header("X-Voice-Runtime-Event", &delivery.event)
        // The same id on every attempt: a receiver drops what it has already seen.
        .header("X-Voice-Runtime-Delivery", delivery.id.to_string())
        .body(body)
        .send()
        .await
        // Never the URL in the message: it may carry the receiver's own token.
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "could not connect".to_string()
            } else {
                "request failed".to_string()
            }
        })?;
    Ok(response.status().as_u16())
}

/// The event as sent: its stored fields, the delivery's id, the lead and campaign names
/// (read now), and links to the transcript export and the call's recording.
async fn body_of(
    store: &Store,
    settings: &SenderSettings,
    delivery: &WebhookDelivery,
) -> Result<String, String> {
    let mut event: Value =
        serde_json::from_str(&delivery.payload).map_err(|e| format!("bad stored event: {e}"))?;
    let lead_id = event["lead_id"].as_i64().unwrap_or_default();
    let (campaign, lead, phone) = store
        .webhook_context(delivery.campaign_id, lead_id)
        .await
        .map_err(|e| e.to_string())?;
    event["id"] = delivery.id.into();
    event["campaign"] = serde_json::json!({"id": delivery.campaign_id, "name": campaign});
    event["lead"] = serde_json::json!({"id": lead_id, "name": lead, "phone": phone});
    // The event stores its own links relative (`/calls/7/recording`, when the call has a
    // recording); they are made absolute here, beside the transcript's.
    let mut links = serde_json::Map::new();
    links.insert(
        "transcript".into(),
        format!(
            "{}/exports/calls/{}",
            settings.public_url, delivery.campaign_id
        )
        .into(),
    );
    if let Some(stored) = event["links"].as_object() {
        for (name, path) in stored {
            if let Some(path) = path.as_str().filter(|p| p.starts_with('/')) {
                let base = settings.public_url.trim_end_matches('/');
                links.insert(name.clone(), format!("{base}{path}").into());
            }
        }
    }
    event["links"] = Value::Object(links);
    Ok(event.to_string())
}
