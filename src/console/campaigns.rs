//! Campaign pages: the list with progress and rates, create, edit, start and pause, and one
//! campaign's page (its numbers, its leads, its calls, its webhook deliveries).

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::api_bridge::{json_of, FormError};
use super::campaign_form::{self, CampaignForm, FormPage};
use super::context::Ctx;
use super::layout::{csrf_field, page, percent, respond, see_other, when, Nav};
use super::{leads, ConsoleError};
use crate::api::extract::ValidJson;
use crate::api::{campaign_control, campaigns as api};
use crate::domain::CampaignStatus;
use crate::store::Campaign;

const PAGE_SIZE: i64 = 25;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Paging {
    offset: i64,
}

pub fn status_badge(status: CampaignStatus) -> Markup {
    html! { span class={"badge " (status.as_str())} { (status.as_str()) } }
}

pub async fn list(ctx: Ctx, paging: web::Query<Paging>) -> Result<HttpResponse, ConsoleError> {
    let store = &ctx.state.store;
    let offset = paging.offset.max(0);
    let (campaigns, total) = store.list_campaigns(PAGE_SIZE, offset).await?;
    let mut rows = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        let figures = store.campaign_analytics(campaign.id).await?;
        rows.push((campaign, figures));
    }
    let body = html! {
        div.row {
            h1 { "Campaigns" }
            a.button href="/ui/campaigns/new" { "New campaign" }
        }
        @if rows.is_empty() {
            p.card { "No campaigns yet. Create one, upload its leads as CSV, and start it." }
        } @else {
            div.table-wrap {
                table {
                    caption.muted { (total) " campaigns" }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Status" }
                        th scope="col" { "Progress" } th scope="col" { "Answer rate" }
                        th scope="col" { "Qualification rate" } th scope="col" { "Actions" }
                    } }
                    tbody {
                        @for (c, figures) in &rows {
                            tr {
                                td { a href={"/ui/campaigns/" (c.id)} { (c.name) } }
                                td { (status_badge(c.status)) }
                                td { (c.leads_completed) " / " (c.total_leads) " done" }
                                td { (percent(figures.answer_rate)) }
                                td { (percent(figures.qualification_rate)) }
                                td { (switches(&ctx, c)) }
                            }
                        }
                    }
                }
            }
            (pager("/ui/campaigns?", "offset", offset, PAGE_SIZE, total))
        }
    };
    Ok(respond(page(&ctx, "Campaigns", Nav::Campaigns, body)))
}

/// Previous / next links for a list of `total` items.
/// `base` ends with `?` or `&`; `param` is the query parameter that holds the offset.
pub fn pager(base: &str, param: &str, offset: i64, size: i64, total: i64) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if offset > 0 {
                a href={(base) (param) "=" ((offset - size).max(0))} { "← Newer" }
            }
            span.muted { (offset + 1) "–" ((offset + size).min(total)) " of " (total) }
            @if offset + size < total {
                a href={(base) (param) "=" (offset + size)} { "Older →" }
            }
        }
    }
}

/// Start and pause, offered only where the move is legal.
fn switches(ctx: &Ctx, c: &Campaign) -> Markup {
    let can_start = matches!(c.status, CampaignStatus::Draft | CampaignStatus::Paused);
    let can_pause = matches!(
        c.status,
        CampaignStatus::Running | CampaignStatus::Scheduled
    );
    html! {
        div.row {
            @if can_start {
                form method="post" action={"/ui/campaigns/" (c.id) "/start"} {
                    (csrf_field(ctx))
                    @let verb = if c.status == CampaignStatus::Paused { "Resume" } else { "Start" };
                    button type="submit" aria-label={(verb) " " (c.name)} { (verb) }
                }
            }
            @if can_pause {
                form method="post" action={"/ui/campaigns/" (c.id) "/pause"} {
                    (csrf_field(ctx))
                    button.secondary type="submit" aria-label={"Pause " (c.name)} { "Pause" }
                }
            }
        }
    }
}

fn form_page(ctx: &Ctx, title: &str, form: Markup) -> HttpResponse {
    let body = html! { h1 { (title) } (form) };
    respond(page(ctx, title, Nav::Campaigns, body))
}

pub async fn new_form(ctx: Ctx) -> HttpResponse {
    let playbooks = ctx.state.playbooks.available();
    let form = campaign_form::render(
        &ctx,
        FormPage {
            action: "/ui/campaigns",
            submit: "Create campaign",
            form: &CampaignForm::default(),
            error: &FormError::default(),
            playbooks: &playbooks,
            transactional_editable: true,
        },
    );
    form_page(&ctx, "New campaign", form)
}

/// A refused form: the same page, the API's message next to its field, status 422.
fn refused(ctx: &Ctx, title: &str, page_form: FormPage<'_>) -> HttpResponse {
    let mut response = form_page(ctx, title, campaign_form::render(ctx, page_form));
    *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

pub async fn create(
    ctx: Ctx,
    req: HttpRequest,
    form: web::Form<CampaignForm>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &form.csrf)?;
    let outcome = match form.to_body(true) {
        Ok(body) => api::create(ctx.state.clone(), ValidJson(body)).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(response) => {
            let created = json_of(response).await?;
            let id = created["id"].as_i64().unwrap_or_default();
            Ok(see_other(&format!("/ui/campaigns/{id}")))
        }
        Err(e) => {
            let error = FormError::from_api(e)?;
            let playbooks = ctx.state.playbooks.available();
            Ok(refused(
                &ctx,
                "New campaign",
                FormPage {
                    action: "/ui/campaigns",
                    submit: "Create campaign",
                    form: &form,
                    error: &error,
                    playbooks: &playbooks,
                    transactional_editable: true,
                },
            ))
        }
    }
}

async fn campaign(ctx: &Ctx, id: i64) -> Result<Campaign, ConsoleError> {
    Ok(ctx.state.store.campaign(id).await?)
}

pub async fn edit_form(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, ConsoleError> {
    let c = campaign(&ctx, *id).await?;
    let playbooks = ctx.state.playbooks.available();
    let action = format!("/ui/campaigns/{}/edit", c.id);
    let form = campaign_form::render(
        &ctx,
        FormPage {
            action: &action,
            submit: "Save",
            form: &CampaignForm::from_campaign(&c),
            error: &FormError::default(),
            playbooks: &playbooks,
            transactional_editable: c.status == CampaignStatus::Draft,
        },
    );
    Ok(form_page(&ctx, &format!("Edit {}", c.name), form))
}

pub async fn edit(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<i64>,
    form: web::Form<CampaignForm>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &form.csrf)?;
    let c = campaign(&ctx, *id).await?;
    let draft = c.status == CampaignStatus::Draft;
    let outcome = match form.to_body(draft) {
        Ok(body) => api::update(ctx.state.clone(), web::Path::from(c.id), ValidJson(body))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/ui/campaigns/{}", c.id))),
        Err(e) => {
            let error = FormError::from_api(e)?;
            let playbooks = ctx.state.playbooks.available();
            let action = format!("/ui/campaigns/{}/edit", c.id);
            Ok(refused(
                &ctx,
                &format!("Edit {}", c.name),
                FormPage {
                    action: &action,
                    submit: "Save",
                    form: &form,
                    error: &error,
                    playbooks: &playbooks,
                    transactional_editable: draft,
                },
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The operator's two switches.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    Start,
    Pause,
}

/// Start (or resume) and pause through the API; a refusal (no leads, a missing provider key)
/// is shown on the campaign's page.
pub async fn switch(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(i64, Switch)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &form.csrf)?;
    let (id, switch) = path.into_inner();
    let state = ctx.state.clone();
    let result = match switch {
        Switch::Start => campaign_control::start(state, web::Path::from(id))
            .await
            .map(|_| ()),
        Switch::Pause => campaign_control::pause(state, web::Path::from(id))
            .await
            .map(|_| ()),
    };
    after_switch(&ctx, id, result).await
}

async fn after_switch(
    ctx: &Ctx,
    id: i64,
    result: Result<(), crate::api::ApiError>,
) -> Result<HttpResponse, ConsoleError> {
    match result {
        Ok(()) => Ok(see_other(&format!("/ui/campaigns/{id}"))),
        Err(e) => {
            let error = FormError::from_api(e)?;
            let mut response = detail_page(ctx, id, &LeadQuery::default(), Some(&error)).await?;
            *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// The lead list's filter and page, from the query string.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LeadQuery {
    pub status: String,
    pub offset: i64,
    pub calls_offset: i64,
}

pub async fn detail(
    ctx: Ctx,
    id: web::Path<i64>,
    query: web::Query<LeadQuery>,
) -> Result<HttpResponse, ConsoleError> {
    detail_page(&ctx, *id, &query, None).await
}

async fn detail_page(
    ctx: &Ctx,
    id: i64,
    query: &LeadQuery,
    error: Option<&FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let c = campaign(ctx, id).await?;
    let store = &ctx.state.store;
    let figures = store.campaign_analytics(id).await?;
    let leads = leads::lead_list(ctx, &c, query).await?;
    let calls = calls_list(ctx, &c, query.calls_offset.max(0)).await?;
    let deliveries = if c.webhook_url.is_some() {
        store.webhook_deliveries(id, 20, 0).await?
    } else {
        Vec::new()
    };
    let body = html! {
        p { a href="/ui/campaigns" { "← Campaigns" } }
        div.row {
            h1 { (c.name) }
            (status_badge(c.status))
        }
        @if let Some(reason) = &c.status_reason { p.notice { (reason) } }
        @if let Some(error) = error { p.error role="alert" { (error.message) } }
        div.row {
            (switches(ctx, &c))
            @if c.status.is_editable() {
                a.button.secondary href={"/ui/campaigns/" (c.id) "/edit"} { "Edit" }
            }
            a.button.secondary href={"/ui/campaigns/" (c.id) "/analytics"} { "Analytics" }
        }
        h2 { "Progress" }
        div.grid {
            div.stat { b { (c.total_leads) } span { "leads" } }
            div.stat { b { (c.leads_called) } span { "called" } }
            div.stat { b { (c.leads_completed) } span { "done" } }
            div.stat { b { (figures.total_calls) } span { "calls placed" } }
            div.stat { b { (percent(figures.answer_rate)) } span { "answer rate" } }
            div.stat { b { (percent(figures.qualification_rate)) } span { "qualified" } }
        }
        (settings_summary(&c))
        @if c.status.is_editable() { (leads::upload_form(ctx, c.id)) }
        (leads)
        (calls)
        @if c.webhook_url.is_some() { (deliveries_table(&deliveries)) }
    };
    Ok(respond(page(ctx, &c.name, Nav::Campaigns, body)))
}

fn settings_summary(c: &Campaign) -> Markup {
    html! {
        details.card {
            summary { "Settings" }
            dl.facts {
                dt { "Playbook" } dd { (c.playbook) }
                dt { "Calling hours" } dd { (c.calling_hours_start) ":00–" (c.calling_hours_end) ":00 " (c.timezone) }
                dt { "Calling days" } dd { (c.calling_days) }
                dt { "Most calls at once" } dd { (c.max_concurrent_calls) }
                dt { "Attempts per lead" } dd { (c.max_attempts) }
                dt { "Retries (no answer / busy / voicemail)" }
                dd { (c.retry_no_answer_minutes) " / " (c.retry_busy_minutes) " / " (c.retry_voicemail_minutes) " min" }
                dt { "Transactional" } dd { @if c.transactional { "yes" } @else { "no" } }
                dt { "Webhook" } dd { (c.webhook_url.as_deref().unwrap_or("none")) }
            }
        }
    }
}

async fn calls_list(ctx: &Ctx, c: &Campaign, offset: i64) -> Result<Markup, ConsoleError> {
    let (calls, total) = ctx
        .state
        .store
        .campaign_calls(c.id, PAGE_SIZE, offset)
        .await?;
    Ok(html! {
        h2 #calls { "Calls" }
        p {
            "Export: "
            a href={"/exports/calls/" (c.id)} { "JSON" } " · "
            a href={"/exports/calls/" (c.id) "?format=csv"} { "CSV" }
        }
        @if calls.is_empty() {
            p.muted { "No calls yet." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Call" } th scope="col" { "Lead" } th scope="col" { "Status" }
                    th scope="col" { "Outcome" } th scope="col" { "Qualified" }
                    th scope="col" { "Length" } th scope="col" { "Placed" }
                } }
                tbody {
                    @for call in &calls {
                        tr {
                            td { a href={"/ui/calls/" (call.call_id)} { "#" (call.call_id) } }
                            td { (call.lead_name) }
                            td { span class={"badge " (call.status)} { (call.status) } }
                            td { (call.final_outcome.as_deref().unwrap_or("—")) }
                            td { (yes_no(call.lead_qualified)) }
                            td { (call.duration_seconds.map_or("—".to_string(), |s| format!("{s} s"))) }
                            td { (when(&call.created_at)) }
                        }
                    }
                }
            } }
            (pager(&format!("/ui/campaigns/{}?", c.id), "calls_offset", offset, PAGE_SIZE, total))
        }
    })
}

pub fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    }
}

fn deliveries_table(deliveries: &[crate::store::WebhookDelivery]) -> Markup {
    html! {
        h2 { "Webhook deliveries" }
        @if deliveries.is_empty() {
            p.muted { "None yet: an event is queued when a call ends." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" }
                    th scope="col" { "Last answer" } th scope="col" { "Next try" } th scope="col" { "Queued" }
                } }
                tbody {
                    @for d in deliveries {
                        tr {
                            td { (d.event) }
                            td { span class={"badge " (d.status.as_str())} { (d.status.as_str()) } }
                            td { (d.attempts) }
                            td {
                                @if let Some(status) = d.last_status { "HTTP " (status) " " }
                                (d.last_error.as_deref().unwrap_or(""))
                            }
                            td { (when(&d.next_attempt_at)) }
                            td { (when(&d.created_at)) }
                        }
                    }
                }
            } }
        }
    }
}
