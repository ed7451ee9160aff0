//! Campaign rows: create, read, list, edit, and state changes through the lifecycle.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{on_pool, Store, StoreError};
use crate::domain::CampaignStatus;
use crate::handoff::{TransferHours, TransferNumbers, TransferStrategy};

/// A campaign as stored and as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: CampaignStatus,
    pub playbook: String,
    pub calling_hours_start: i64,
    pub calling_hours_end: i64,
    pub timezone: String,
    pub calling_days: String,
    pub max_concurrent_calls: i64,
    pub max_attempts: i64,
    pub retry_no_answer_minutes: i64,
    pub retry_busy_minutes: i64,
    /// Wait before calling again after a machine answered (outcome `voicemail`).
    pub retry_voicemail_minutes: i64,
    pub total_leads: i64,
    pub leads_called: i64,
    pub leads_completed: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Why the runtime itself moved the campaign to its status; cleared by the next change.
    pub status_reason: Option<String>,
    /// Transactional or service calls: not held to `REGULATORY_HOURS`. Set while DRAFT only.
    pub transactional: bool,
    /// Where the campaign's events (`call.ended`) are POSTed, signed; none = no webhook.
    pub webhook_url: Option<String>,
    /// Where hand-offs to a human go (E.164); none = the agent never transfers.
    #[sqlx(try_from = "String")]
    #[schema(value_type = Vec<String>)]
    pub transfer_numbers: TransferNumbers,
    #[sqlx(try_from = "String")]
    pub transfer_strategy: TransferStrategy,
    /// The human team's hours, `HH:MM-HH:MM` in `timezone`; none = whenever calls are made.
    pub transfer_hours: Option<String>,
    /// Transfers ringing or talking at once, at most.
    pub max_concurrent_transfers: i64,
}

impl Campaign {
    /// The team's hours, when set (stored only after `TransferHours::parse`).
    pub fn transfer_hours(&self) -> Option<TransferHours> {
        self.transfer_hours
            .as_deref()
            .and_then(|h| TransferHours::parse(h).ok())
    }
}

impl TryFrom<String> for CampaignStatus {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        CampaignStatus::parse(&raw).ok_or_else(|| format!("unknown campaign status {raw:?}"))
    }
}

/// The editable settings of a campaign, already validated by the caller.
#[derive(Debug, Clone)]
pub struct CampaignSettings {
    pub playbook: String,
    pub calling_hours_start: u32,
    pub calling_hours_end: u32,
    pub timezone: String,
    pub calling_days: String,
    pub max_concurrent_calls: u32,
    pub max_attempts: u32,
    pub retry_no_answer_minutes: u32,
    pub retry_busy_minutes: u32,
    pub retry_voicemail_minutes: u32,
    pub webhook_url: Option<String>,
    pub handoff: HandoffSettings,
}

/// A campaign's hand-off settings, validated.
#[derive(Debug, Clone)]
pub struct HandoffSettings {
    pub numbers: TransferNumbers,
    pub strategy: TransferStrategy,
    pub hours: Option<TransferHours>,
    pub max_concurrent: u32,
}

impl Default for HandoffSettings {
    fn default() -> Self {
        HandoffSettings {
            numbers: TransferNumbers::default(),
            strategy: TransferStrategy::InOrder,
            hours: None,
            max_concurrent: 1,
        }
    }
}

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub settings: CampaignSettings,
    pub transactional: bool,
}

/// A partial edit: `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub playbook: Option<String>,
    pub calling_hours_start: Option<u32>,
    pub calling_hours_end: Option<u32>,
    pub timezone: Option<String>,
    pub calling_days: Option<String>,
    pub max_concurrent_calls: Option<u32>,
    pub max_attempts: Option<u32>,
    pub retry_no_answer_minutes: Option<u32>,
    pub retry_busy_minutes: Option<u32>,
    pub retry_voicemail_minutes: Option<u32>,
    /// Applied only while the campaign is DRAFT (the UPDATE checks it).
    pub transactional: Option<bool>,
    /// `Some("")` removes the webhook.
    pub webhook_url: Option<String>,
    pub transfer_numbers: Option<TransferNumbers>,
    pub transfer_strategy: Option<TransferStrategy>,
    /// `Some("")` removes the hours (transfers whenever calls are made).
    pub transfer_hours: Option<String>,
    pub max_concurrent_transfers: Option<u32>,
}

impl Store {
    pub async fn create_campaign(
        &self,
        new: &NewCampaign,
        now: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        const SQL: &str = "INSERT INTO campaigns (name, status, playbook, calling_hours_start, \
            calling_hours_end, timezone, calling_days, max_concurrent_calls, max_attempts, \
            retry_no_answer_minutes, retry_busy_minutes, created_at, updated_at, transactional, \
            retry_voicemail_minutes, webhook_url, transfer_numbers, transfer_strategy, \
            transfer_hours, max_concurrent_transfers) \
            VALUES ($1, 'DRAFT', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, \
            $15, $16, $17, $18) \
            RETURNING *";
        let s = &new.settings;
        let row = on_pool!(self, p => sqlx::query_as::<_, Campaign>(SQL)
            .bind(&new.name)
            .bind(&s.playbook)
            .bind(i64::from(s.calling_hours_start))
            .bind(i64::from(s.calling_hours_end))
            .bind(&s.timezone)
            .bind(&s.calling_days)
            .bind(i64::from(s.max_concurrent_calls))
            .bind(i64::from(s.max_attempts))
            .bind(i64::from(s.retry_no_answer_minutes))
            .bind(i64::from(s.retry_busy_minutes))
            .bind(now)
            .bind(new.transactional)
            .bind(i64::from(s.retry_voicemail_minutes))
            .bind(&s.webhook_url)
            .bind(s.handoff.numbers.to_json())
            .bind(s.handoff.strategy.as_str())
            .bind(s.handoff.hours.map(|h| h.canonical()))
            .bind(i64::from(s.handoff.max_concurrent))
            .fetch_one(p)
            .await)?;
        Ok(row)
    }

    pub async fn campaign(&self, id: i64) -> Result<Campaign, StoreError> {
        const SQL: &str = "SELECT * FROM campaigns WHERE id = $1";
        on_pool!(self, p => sqlx::query_as::<_, Campaign>(SQL).bind(id).fetch_optional(p).await)?
            .ok_or(StoreError::NotFound("campaign"))
    }

    /// One page of campaigns, newest first, and the total count.
    pub async fn list_campaigns(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Campaign>, i64), StoreError> {
        const PAGE: &str = "SELECT * FROM campaigns ORDER BY id DESC LIMIT $1 OFFSET $2";
        const TOTAL: &str = "SELECT COUNT(*) FROM campaigns";
        let items = on_pool!(self, p => sqlx::query_as::<_, Campaign>(PAGE)
            .bind(limit).bind(offset).fetch_all(p).await)?;
        let total: i64 = on_pool!(self, p => sqlx::query_scalar(TOTAL).fetch_one(p).await)?;
        Ok((items, total))
    }

    /// Campaigns in a given state (the supervisor restarts RUNNING ones after a restart).
    pub async fn campaigns_with_status(
        &self,
        status: CampaignStatus,
    ) -> Result<Vec<Campaign>, StoreError> {
        const SQL: &str = "SELECT * FROM campaigns WHERE status = $1 ORDER BY id";
        let rows = on_pool!(self, p => sqlx::query_as::<_, Campaign>(SQL)
            .bind(status.as_str()).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Applies a partial edit unless the campaign is COMPLETED (read-only → `Conflict`), or the
    /// edit changes `transactional` once the campaign has left DRAFT (`Conflict`). Both guards
    /// are in the UPDATE itself, so a campaign that starts or completes between our read and our
    /// write is never edited.
    pub async fn update_campaign(
        &self,
        id: i64,
        patch: &CampaignPatch,
        now: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        const SQL: &str = "UPDATE campaigns SET \
            name = COALESCE($2, name), playbook = COALESCE($3, playbook), \
            calling_hours_start = COALESCE($4, calling_hours_start), \
            calling_hours_end = COALESCE($5, calling_hours_end), \
            timezone = COALESCE($6, timezone), calling_days = COALESCE($7, calling_days), \
            max_concurrent_calls = COALESCE($8, max_concurrent_calls), \
            max_attempts = COALESCE($9, max_attempts), \
            retry_no_answer_minutes = COALESCE($10, retry_no_answer_minutes), \
            retry_busy_minutes = COALESCE($11, retry_busy_minutes), updated_at = $12, \
            transactional = COALESCE($13, transactional), \
            retry_voicemail_minutes = COALESCE($14, retry_voicemail_minutes), \
            webhook_url = CASE WHEN $15 IS NULL THEN webhook_url ELSE NULLIF($15, '') END, \
            transfer_numbers = COALESCE($16, transfer_numbers), \
            transfer_strategy = COALESCE($17, transfer_strategy), \
            transfer_hours = CASE WHEN $18 IS NULL THEN transfer_hours ELSE NULLIF($18, '') END, \
            max_concurrent_transfers = COALESCE($19, max_concurrent_transfers) \
            WHERE id = $1 AND status <> 'COMPLETED' \
            AND ($13 IS NULL OR $13 = transactional OR status = 'DRAFT') RETURNING *";
        let wide = |v: Option<u32>| v.map(i64::from);
        let row = on_pool!(self, p => sqlx::query_as::<_, Campaign>(SQL)
            .bind(id)
            .bind(&patch.name)
            .bind(&patch.playbook)
            .bind(wide(patch.calling_hours_start))
            .bind(wide(patch.calling_hours_end))
            .bind(&patch.timezone)
            .bind(&patch.calling_days)
            .bind(wide(patch.max_concurrent_calls))
            .bind(wide(patch.max_attempts))
            .bind(wide(patch.retry_no_answer_minutes))
            .bind(wide(patch.retry_busy_minutes))
            .bind(now)
            .bind(patch.transactional)
            .bind(wide(patch.retry_voicemail_minutes))
            .bind(&patch.webhook_url)
            .bind(patch.transfer_numbers.as_ref().map(TransferNumbers::to_json))
            .bind(patch.transfer_strategy.map(TransferStrategy::as_str))
            .bind(&patch.transfer_hours)
            .bind(wide(patch.max_concurrent_transfers))
            .fetch_optional(p)
            .await)?;
        match row {
            Some(campaign) => Ok(campaign),
            None => Err(self.why_not_editable(id).await),
        }
    }

    /// Moves a campaign along its lifecycle, checked by `CampaignStatus::can_become`; the UPDATE
    /// is conditional on the status read, so two concurrent changes cannot both win.
    pub async fn transition_campaign(
        &self,
        id: i64,
        to: CampaignStatus,
        now: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        self.transition_campaign_because(id, to, None, now).await
    }

    /// As `transition_campaign`, recording why (shown to operators as `status_reason`).
    pub async fn transition_campaign_because(
        &self,
        id: i64,
        to: CampaignStatus,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        const SQL: &str = "UPDATE campaigns SET status = $3, updated_at = $4, status_reason = $5, \
            started_at = CASE WHEN $3 = 'RUNNING' AND started_at IS NULL THEN $4 ELSE started_at END, \
            completed_at = CASE WHEN $3 = 'COMPLETED' THEN $4 ELSE completed_at END \
            WHERE id = $1 AND status = $2 RETURNING *";
        let current = self.campaign(id).await?;
        current
            .status
            .transition(to)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let row = on_pool!(self, p => sqlx::query_as::<_, Campaign>(SQL)
            .bind(id)
            .bind(current.status.as_str())
            .bind(to.as_str())
            .bind(now)
            .bind(reason)
            .fetch_optional(p)
            .await)?;
        row.ok_or_else(|| {
            StoreError::Conflict("the campaign changed state meanwhile; retry".into())
        })
    }

    async fn why_not_editable(&self, id: i64) -> StoreError {
        match self.campaign(id).await {
            Ok(c) if c.status == CampaignStatus::Completed => {
                StoreError::Conflict(format!("campaign {id} is {} and read-only", c.status))
            }
            Ok(c) => StoreError::Conflict(format!(
                "campaign {id} is {}: transactional can only be changed while it is DRAFT",
                c.status
            )),
            Err(e) => e,
        }
    }
}
