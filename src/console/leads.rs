//! Leads: the CSV upload (file picker, or drop a file on the zone) with its per-row report, and
//! a campaign's lead list with status filter and paging.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::api_bridge::FormError;
use super::campaigns::{pager, yes_no, LeadQuery};
use super::context::Ctx;
use super::layout::{page, respond, Nav};
use super::ConsoleError;
use crate::api::leads::LeadImportReport;
use crate::domain::LeadStatus;
use crate::store::{Campaign, LeadFilter};

const PAGE_SIZE: i64 = 50;

/// The upload form. Its CSRF token rides in the query string: the API's upload handler reads
/// the multipart body, and a field of it cannot be checked before the file is.
pub fn upload_form(ctx: &Ctx, campaign_id: i64) -> Markup {
    html! {
        h2 { "Upload leads" }
        form.card method="post" enctype="multipart/form-data"
            action={"/ui/campaigns/" (campaign_id) "/leads?csrf=" (ctx.csrf)} {
            div.dropzone {
                label for="file" { "CSV file (columns: name, phone, and any others)" }
                input #file type="file" name="file" accept=".csv,text/csv" required;
                p.muted { "…or drop the file here. " span.chosen {} }
            }
            p { button type="submit" { "Upload" } }
        }
    }
}

pub async fn lead_list(ctx: &Ctx, c: &Campaign, q: &LeadQuery) -> Result<Markup, ConsoleError> {
    let status = LeadStatus::parse(&q.status.to_ascii_uppercase());
    let filter = LeadFilter {
        status,
        qualified: None,
    };
    let offset = q.offset.max(0);
    let (leads, total) = ctx
        .state
        .store
        .list_leads(c.id, &filter, PAGE_SIZE, offset)
        .await?;
    let base = match status {
        Some(s) => format!("/ui/campaigns/{}?status={}&", c.id, s.as_str()),
        None => format!("/ui/campaigns/{}?", c.id),
    };
    Ok(html! {
        h2 #leads { "Leads" }
        form.row method="get" action={"/ui/campaigns/" (c.id)} {
            label for="status" { "Status" }
            select #status name="status" {
                option value="" selected[status.is_none()] { "All" }
                @for s in LeadStatus::ALL {
                    option value=(s.as_str()) selected[status == Some(*s)] { (s.as_str()) }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if leads.is_empty() {
            p.muted { "No leads" @if status.is_some() { " with this status" } "." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Phone" } th scope="col" { "Status" }
                    th scope="col" { "Attempts" } th scope="col" { "Qualified" }
                } }
                tbody {
                    @for lead in &leads {
                        tr {
                            td { (lead.name) }
                            td { (lead.phone) }
                            td { span.badge { (lead.status) } }
                            td { (lead.call_attempts) }
                            td { (yes_no(lead.qualified)) }
                        }
                    }
                }
            } }
            (pager(&base, "offset", offset, PAGE_SIZE, total))
        }
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UploadQuery {
    csrf: String,
}

/// Hands the multipart body to the API's own import and shows what it did, row by row.
pub async fn upload(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<i64>,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &query.csrf)?;
    let id = id.into_inner();
    let c = ctx.state.store.campaign(id).await?;
    let answer =
        crate::api::leads::upload_csv(ctx.state.clone(), web::Path::from(id), req.clone(), payload)
            .await;
    let (report, status) = match answer {
        Ok(report) => (Ok(report.into_inner()), actix_web::http::StatusCode::OK),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            (Err(FormError::from_api(e)?), status)
        }
    };
    let body = html! {
        p { a href={"/ui/campaigns/" (c.id)} { "← " (c.name) } }
        h1 { "Upload to " (c.name) }
        @match &report {
            Ok(report) => (import_report(report)),
            Err(error) => p.error role="alert" { (error.message) },
        }
        (upload_form(&ctx, c.id))
    };
    let mut response = respond(page(&ctx, "Upload leads", Nav::Campaigns, body));
    *response.status_mut() = status;
    Ok(response)
}

fn import_report(report: &LeadImportReport) -> Markup {
    let rejected = &report.rejected;
    let suppressed = &report.suppressed_rows;
    html! {
        div.grid role="status" {
            div.stat { b #accepted-count { (report.accepted) } span { "accepted" } }
            div.stat { b { (report.duplicates) } span { "duplicates" } }
            div.stat { b #rejected-count { (report.rejected_count) } span { "rejected" } }
            div.stat { b { (report.suppressed) } span { "on the suppression list" } }
        }
        @if !rejected.is_empty() || !suppressed.is_empty() {
            h2 { "Rows not imported" }
            div.table-wrap { table #rejected-rows {
                thead { tr { th scope="col" { "Row" } th scope="col" { "Reason" } } }
                tbody {
                    @for row in rejected.iter().chain(suppressed) {
                        tr { td { (row.row) } td { (row.reason) } }
                    }
                }
            } }
        }
    }
}
