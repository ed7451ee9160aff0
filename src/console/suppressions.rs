//! The do-not-call list: view, add, remove, upload. Changes go through the API's handlers.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::api_bridge::FormError;
use super::campaigns::pager;
use super::context::Ctx;
use super::layout::{csrf_field, page, respond, see_other, when, Nav};
use super::ConsoleError;
use crate::api::extract::ValidJson;
use crate::api::suppressions::{self as api, SuppressionBody};

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    offset: i64,
}

pub async fn list(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, ConsoleError> {
    render(&ctx, q.offset.max(0), None, None).await
}

/// The page, with the outcome of what the operator just did (a refusal, an upload report).
async fn render(
    ctx: &Ctx,
    offset: i64,
    error: Option<&FormError>,
    report: Option<Markup>,
) -> Result<HttpResponse, ConsoleError> {
    let (items, total) = ctx.state.store.list_suppressions(PAGE_SIZE, offset).await?;
    let body = html! {
        h1 { "Suppression list" }
        p.muted { "Numbers on this list are never called by any campaign, and lead uploads leave them out." }
        @if let Some(report) = report { (report) }
        div.two {
            form.stack.card method="post" action="/ui/suppressions" {
                h2 { "Add a number" }
                (csrf_field(ctx))
                @if let Some(e) = error.filter(|e| e.field.is_none()) { p.error role="alert" { (e.message) } }
                div.field.invalid[error.and_then(|e| e.on("phone")).is_some()] {
                    label for="phone" { "Phone (E.164, e.g. +919812345678)" }
                    input #phone name="phone" type="tel" required
                        aria-describedby=[error.and_then(|e| e.on("phone")).map(|_| "phone-error")];
                    @if let Some(m) = error.and_then(|e| e.on("phone")) { p.field-error #phone-error role="alert" { (m) } }
                }
                div.field.invalid[error.and_then(|e| e.on("reason")).is_some()] {
                    label for="reason" { "Reason" }
                    input #reason name="reason" type="text" maxlength="500"
                        aria-describedby=[error.and_then(|e| e.on("reason")).map(|_| "reason-error")];
                    @if let Some(m) = error.and_then(|e| e.on("reason")) { p.field-error #reason-error role="alert" { (m) } }
                }
                div { button type="submit" { "Add" } }
            }
            form.card method="post" enctype="multipart/form-data"
                action={"/ui/suppressions/upload?csrf=" (ctx.csrf)} {
                h2 { "Upload a list" }
                div.dropzone {
                    label for="suppression-file" { "CSV file (column phone, optional reason)" }
                    input #suppression-file type="file" name="file" accept=".csv,text/csv" required
                        aria-describedby=[error.and_then(|e| e.on("file")).map(|_| "suppression-file-error")];
                    @if let Some(m) = error.and_then(|e| e.on("file")) {
                        p.field-error #suppression-file-error role="alert" { (m) }
                    }
                    p.muted { "…or drop the file here. " span.chosen {} }
                }
                p { button type="submit" { "Upload" } }
            }
        }
        h2 { (total) " numbers" }
        @if !items.is_empty() {
            div.table-wrap { table #suppressions {
                thead { tr {
                    th scope="col" { "Phone" } th scope="col" { "Reason" } th scope="col" { "Source" }
                    th scope="col" { "Added" } th scope="col" { span.muted { "Remove" } }
                } }
                tbody {
                    @for s in &items {
                        tr {
                            td { (s.phone) }
                            td { (s.reason) }
                            td { (s.source.as_str()) }
                            td { (when(&s.created_at)) }
                            td {
                                form method="post" action="/ui/suppressions/remove" {
                                    (csrf_field(ctx))
                                    input type="hidden" name="phone" value=(s.phone);
                                    button.secondary type="submit" aria-label={"Remove " (s.phone)} { "Remove" }
                                }
                            }
                        }
                    }
                }
            } }
            (pager("/ui/suppressions?", "offset", offset, PAGE_SIZE, total))
        }
    };
    let mut response = respond(page(ctx, "Suppression list", Nav::Suppressions, body));
    if error.is_some() {
        *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    phone: String,
    reason: String,
}

pub async fn add(
    ctx: Ctx,
    req: HttpRequest,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &form.csrf)?;
    let body = SuppressionBody {
        phone: form.phone.clone(),
        reason: Some(form.reason.clone()),
    };
    match api::add(ctx.state.clone(), ValidJson(body)).await {
        Ok(_) => Ok(see_other("/ui/suppressions")),
        Err(e) => render(&ctx, 0, Some(&FormError::from_api(e)?), None).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RemoveForm {
    csrf: String,
    phone: String,
}

pub async fn remove(
    ctx: Ctx,
    req: HttpRequest,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &form.csrf)?;
    match api::remove(ctx.state.clone(), web::Path::from(form.phone.clone())).await {
        // Already gone (another operator removed it): the list shows the truth either way.
        Ok(_) | Err(crate::api::ApiError::NotFound(_)) => Ok(see_other("/ui/suppressions")),
        Err(e) => render(&ctx, 0, Some(&FormError::from_api(e)?), None).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UploadQuery {
    csrf: String,
}

pub async fn upload(
    ctx: Ctx,
    req: HttpRequest,
    q: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &q.csrf)?;
    match api::upload_csv(ctx.state.clone(), req.clone(), payload).await {
        Ok(report) => {
            let r = report.into_inner();
            let report = html! {
                div.notice role="status" {
                    (r.accepted) " added · " (r.already_suppressed) " already listed · "
                    (r.duplicates_in_file) " duplicates in the file · " (r.rejected_count) " rejected"
                    @if !r.rejected.is_empty() {
                        ul { @for row in &r.rejected {
                            li { "Row " (row.row) ": " (row.reason) }
                        } }
                    }
                }
            };
            render(&ctx, 0, None, Some(report)).await
        }
        Err(e) => render(&ctx, 0, Some(&FormError::from_api(e)?), None).await,
    }
}
