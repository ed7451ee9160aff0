//! Lead rows: bulk import in one transaction, paged listing with filters.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::QueryBuilder;

use super::{on_pool, Store, StoreError, INSERT_BATCH_ROWS};
use crate::domain::{CampaignStatus, LeadStatus};

/// A lead as stored and as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Lead {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub property_type: Option<String>,
    pub location: Option<String>,
    pub budget: Option<String>,
    /// The upload's columns we have no field for, by their header.
    #[schema(value_type = Object)]
    pub attributes: Json<serde_json::Map<String, serde_json::Value>>,
    #[schema(value_type = crate::domain::LeadStatus)]
    pub status: String,
    pub call_attempts: i64,
    pub last_call_attempt: Option<DateTime<Utc>>,
    pub qualified: Option<bool>,
    pub created_at: DateTime<Utc>,
    /// Call-backs granted without using one of the campaign's attempts (at most 2).
    pub free_callbacks_used: i64,
}

/// A lead parsed from an upload, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLead {
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: Option<String>,
    pub property_type: Option<String>,
    pub location: Option<String>,
    pub budget: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// Filters of `GET /campaigns/{id}/leads`, read from its query string.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadFilter {
    /// Only leads in this status (any letter case).
    pub status: Option<LeadStatus>,
    /// Only leads a conversation did (`true`) or did not (`false`) qualify.
    pub qualified: Option<bool>,
}

/// What an import did: rows inserted, and those skipped because the campaign already had them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOutcome {
    pub inserted: u64,
    pub already_present: u64,
}

impl Store {
    /// Inserts leads in one transaction, batch by batch; phones already in the campaign are
    /// skipped (`ON CONFLICT DO NOTHING`) and counted. Nothing is kept if any batch fails.
    /// Refused (`Conflict`) when the campaign is COMPLETED.
    pub async fn import_leads(
        &self,
        campaign_id: i64,
        leads: &[NewLead],
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, StoreError> {
        let campaign = self.campaign(campaign_id).await?;
        if campaign.status == CampaignStatus::Completed {
            return Err(StoreError::Conflict(format!(
                "campaign {campaign_id} is COMPLETED; leads cannot be added"
            )));
        }
        const COUNT: &str =
            "UPDATE campaigns SET total_leads = total_leads + $2, updated_at = $3 WHERE id = $1 AND status <> 'COMPLETED'";
        let inserted = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut inserted = 0u64;
            for chunk in leads.chunks(INSERT_BATCH_ROWS) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO leads (campaign_id, name, phone, email, property_type, location, \
                     budget, attributes, status, created_at) ",
                );
                qb.push_values(chunk, |mut row, lead| {
                    row.push_bind(campaign_id)
                        .push_bind(&lead.name)
                        .push_bind(&lead.phone)
                        .push_bind(&lead.email)
                        .push_bind(&lead.property_type)
                        .push_bind(&lead.location)
                        .push_bind(&lead.budget)
                        .push_bind(Json(&lead.attributes))
                        .push_bind(LeadStatus::New.as_str())
                        .push_bind(now);
                });
                qb.push(" ON CONFLICT (campaign_id, phone) DO NOTHING");
                inserted += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            let updated = sqlx::query(COUNT)
                .bind(campaign_id)
                .bind(inserted as i64)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                return Err(StoreError::Conflict(format!(
                    "campaign {campaign_id} completed during the import; nothing was added"
                )));
            }
            tx.commit().await?;
            inserted
        });
        Ok(ImportOutcome {
            inserted,
            already_present: leads.len() as u64 - inserted,
        })
    }

    pub async fn lead(&self, id: i64) -> Result<Lead, StoreError> {
        const SQL: &str = "SELECT * FROM leads WHERE id = $1";
        on_pool!(self, p => sqlx::query_as::<_, Lead>(SQL).bind(id).fetch_optional(p).await)?
            .ok_or(StoreError::NotFound("lead"))
    }

    /// Every phone already in a campaign, to report duplicates row by row before inserting.
    pub async fn campaign_phones(&self, campaign_id: i64) -> Result<HashSet<String>, StoreError> {
        const SQL: &str = "SELECT phone FROM leads WHERE campaign_id = $1";
        let phones: Vec<String> =
            on_pool!(self, p => sqlx::query_scalar(SQL).bind(campaign_id).fetch_all(p).await)?;
        Ok(phones.into_iter().collect())
    }

    /// One page of a campaign's leads (oldest first) and the total matching the filter.
    pub async fn list_leads(
        &self,
        campaign_id: i64,
        filter: &LeadFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Lead>, i64), StoreError> {
        // NULL parameters switch a filter off, so one statement serves every combination.
        const WHERE: &str = " FROM leads WHERE campaign_id = $1 \
            AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR qualified = $3)";
        let page = format!("SELECT *{WHERE} ORDER BY id LIMIT $4 OFFSET $5");
        let total = format!("SELECT COUNT(*){WHERE}");
        let status = filter.status.map(|s| s.as_str());
        let items = on_pool!(self, p => sqlx::query_as::<_, Lead>(&page)
            .bind(campaign_id).bind(status).bind(filter.qualified).bind(limit).bind(offset)
            .fetch_all(p).await)?;
        let total: i64 = on_pool!(self, p => sqlx::query_scalar(&total)
            .bind(campaign_id).bind(status).bind(filter.qualified)
            .fetch_one(p).await)?;
        Ok((items, total))
    }
}
