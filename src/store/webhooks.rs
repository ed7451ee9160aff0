//! The outbound webhook outbox: events written in the transaction of what they tell about,
//! claimed one at a time by the sender of whichever node gets there first, and marked
//! delivered, retried later, or failed for good.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{on_pool, Store, StoreError};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    /// Not sent yet, or to be tried again at `next_attempt_at`.
    Pending,
    Delivered,
    /// Every attempt failed; kept for the operator to see.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Failed => "FAILED",
        }
    }
}

impl TryFrom<String> for DeliveryStatus {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        match raw.as_str() {
            "PENDING" => Ok(DeliveryStatus::Pending),
            "DELIVERED" => Ok(DeliveryStatus::Delivered),
            "FAILED" => Ok(DeliveryStatus::Failed),
            _ => Err(format!("unknown delivery status {raw:?}")),
        }
    }
}

/// One event for one campaign's webhook, as stored and as the API lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    pub campaign_id: i64,
    pub event: String,
    #[serde(skip)]
    pub url: String,
    /// The event's own fields (the sender adds the lead, campaign and links when it sends).
    #[serde(skip)]
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, if the receiver answered at all.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The SQL that queues an event for a campaign with a webhook (nothing without one); used
/// inside the transaction that records what the event tells. Binds: campaign id, event,
/// payload, now.
pub(super) const ENQUEUE: &str = "INSERT INTO webhook_deliveries (campaign_id, event, url, \
    payload, next_attempt_at, created_at) SELECT id, $2, webhook_url, $3, $4, $4 FROM campaigns \
    WHERE id = $1 AND webhook_url IS NOT NULL";

impl Store {
    /// Claims the oldest delivery that is due, for `lease` (a sender that dies mid-send
    /// leaves it to be claimed again when the lease ends). The UPDATE is conditional on the
    /// row still being free, so two nodes never send the same attempt.
    pub async fn claim_webhook_delivery(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        const SQL: &str = "UPDATE webhook_deliveries SET lease_until = $2 WHERE id = (\
            SELECT id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1 \
            AND (lease_until IS NULL OR lease_until <= $1) ORDER BY id LIMIT 1) \
            AND status = 'PENDING' AND (lease_until IS NULL OR lease_until <= $1) RETURNING *";
        let row = on_pool!(self, p => sqlx::query_as::<_, WebhookDelivery>(SQL)
            .bind(now).bind(lease_until).fetch_optional(p).await)?;
        Ok(row)
    }

    /// Records an attempt: delivered, or failed with `retry_at` (`None`: failed for good).
    pub async fn record_webhook_attempt(
        &self,
        id: i64,
        delivered: bool,
        http_status: Option<u16>,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE webhook_deliveries SET attempts = attempts + 1, \
            lease_until = NULL, last_status = $3, last_error = $4, status = $2, \
            next_attempt_at = COALESCE($5, next_attempt_at), \
            delivered_at = CASE WHEN $2 = 'DELIVERED' THEN $6 ELSE delivered_at END \
            WHERE id = $1";
        let status = match (delivered, retry_at) {
            (true, _) => DeliveryStatus::Delivered,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::Failed,
        };
        on_pool!(self, p => sqlx::query(SQL)
            .bind(id)
            .bind(status.as_str())
            .bind(http_status.map(i64::from))
            .bind(error)
            .bind(retry_at)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// A campaign's deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        campaign_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        const SQL: &str = "SELECT * FROM webhook_deliveries WHERE campaign_id = $1 \
            ORDER BY id DESC LIMIT $2 OFFSET $3";
        let rows = on_pool!(self, p => sqlx::query_as::<_, WebhookDelivery>(SQL)
            .bind(campaign_id).bind(limit).bind(offset).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The lead's and the campaign's names, for an event's body.
    pub async fn webhook_context(
        &self,
        campaign_id: i64,
        lead_id: i64,
    ) -> Result<(String, String, String), StoreError> {
        const SQL: &str = "SELECT c.name, l.name, l.phone FROM campaigns c, leads l \
            WHERE c.id = $1 AND l.id = $2";
        let row: Option<(String, String, String)> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(campaign_id).bind(lead_id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound("lead"))
    }
}
