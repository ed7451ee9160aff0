//! `GET /analytics/campaign/{id}`: aggregate figures of one campaign, computed in SQL.

use serde::Serialize;

use super::{on_pool, Store, StoreError};

/// A labelled count (one bar of a histogram, one slice of a breakdown).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// The figures an operator reads to judge a campaign. Rates are `null` when their denominator
/// is zero (an empty campaign has no answer rate, not a 0% one).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignAnalytics {
    pub campaign_id: i64,
    pub total_leads: i64,
    pub leads_by_status: Vec<Count>,
    pub total_calls: i64,
    pub calls_by_status: Vec<Count>,
    /// Calls a person answered: answered at the telephone level and not by a machine.
    pub answered_calls: i64,
    /// Calls a machine answered (conversation outcome `voicemail`: voicemail, call screening,
    /// a carrier announcement). Never counted in `answered_calls`.
    pub voicemail_calls: i64,
    /// Calls a person answered / calls placed.
    pub answer_rate: Option<f64>,
    /// Calls a machine answered / calls placed.
    pub voicemail_rate: Option<f64>,
    /// Mean length of calls a person answered, in seconds.
    pub average_duration_seconds: Option<f64>,
    pub qualified_leads: i64,
    /// Leads a conversation decided on (qualified or not).
    pub decided_leads: i64,
    /// qualified / decided.
    pub qualification_rate: Option<f64>,
    pub outcomes: Vec<Count>,
    /// How many leads have had 0, 1, 2, … call attempts.
    pub attempts_histogram: Vec<Count>,
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Store {
    pub async fn campaign_analytics(&self, id: i64) -> Result<CampaignAnalytics, StoreError> {
        const LEADS_BY_STATUS: &str = "SELECT status AS key, COUNT(*) AS count FROM leads \
            WHERE campaign_id = $1 GROUP BY status ORDER BY status";
        const CALLS_BY_STATUS: &str = "SELECT status AS key, COUNT(*) AS count FROM call_sessions \
            WHERE campaign_id = $1 GROUP BY status ORDER BY status";
        const ATTEMPTS: &str = "SELECT CAST(call_attempts AS TEXT) AS key, COUNT(*) AS count \
            FROM leads WHERE campaign_id = $1 GROUP BY call_attempts ORDER BY call_attempts";
        const OUTCOMES: &str =
            "SELECT COALESCE(c.final_outcome, 'unknown') AS key, COUNT(*) AS count \
            FROM conversations c JOIN call_sessions s ON s.id = c.call_session_id \
            WHERE s.campaign_id = $1 GROUP BY COALESCE(c.final_outcome, 'unknown') ORDER BY 1";
        // A machine answers like a person at the telephone level (answered_at is set); only
        // the conversation's outcome tells them apart.
        const ANSWERED: &str = "SELECT \
            CAST(COALESCE(SUM(CASE WHEN s.answered_at IS NOT NULL \
                AND COALESCE(c.final_outcome, '') <> 'voicemail' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN c.final_outcome = 'voicemail' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(AVG(CASE WHEN s.answered_at IS NOT NULL \
                AND COALESCE(c.final_outcome, '') <> 'voicemail' THEN s.duration_seconds END) \
                AS DOUBLE PRECISION) \
            FROM call_sessions s LEFT JOIN conversations c ON c.call_session_id = s.id \
            WHERE s.campaign_id = $1";
        const QUALIFIED: &str = "SELECT \
            CAST(COALESCE(SUM(CASE WHEN qualified THEN 1 ELSE 0 END), 0) AS BIGINT), \
            COUNT(qualified) FROM leads WHERE campaign_id = $1";

        self.campaign(id).await?;
        let counts = |sql: &'static str| async move {
            on_pool!(self, p => sqlx::query_as::<_, Count>(sql).bind(id).fetch_all(p).await)
        };
        let leads_by_status = counts(LEADS_BY_STATUS).await?;
        let calls_by_status = counts(CALLS_BY_STATUS).await?;
        let attempts_histogram = counts(ATTEMPTS).await?;
        let outcomes = counts(OUTCOMES).await?;
        let (answered_calls, voicemail_calls, average_duration_seconds): (i64, i64, Option<f64>) =
            on_pool!(self, p => sqlx::query_as(ANSWERED).bind(id).fetch_one(p).await)?;
        let (qualified_leads, decided_leads): (i64, i64) =
            on_pool!(self, p => sqlx::query_as(QUALIFIED).bind(id).fetch_one(p).await)?;

        let total_leads = leads_by_status.iter().map(|c| c.count).sum();
        let total_calls = calls_by_status.iter().map(|c| c.count).sum();
        Ok(CampaignAnalytics {
            campaign_id: id,
            total_leads,
            leads_by_status,
            total_calls,
            calls_by_status,
            answered_calls,
            voicemail_calls,
            answer_rate: ratio(answered_calls, total_calls),
            voicemail_rate: ratio(voicemail_calls, total_calls),
            average_duration_seconds,
            qualified_leads,
            decided_leads,
            qualification_rate: ratio(qualified_leads, decided_leads),
            outcomes,
            attempts_histogram,
        })
    }
}
