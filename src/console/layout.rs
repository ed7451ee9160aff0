//! The page shell: head, navigation, main landmark. Every value goes through maud's `( )`,
//! which escapes HTML, so a lead called `<script>` is text wherever it appears.

use maud::{html, Markup, DOCTYPE};

use super::assets;
use super::context::Ctx;

/// The navigation entries; the current one is marked for screen readers and the eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Campaigns,
    Live,
    Suppressions,
}

const ENTRIES: [(Nav, &str, &str); 3] = [
    (Nav::Campaigns, "/ui/campaigns", "Campaigns"),
    (Nav::Live, "/ui/live", "Live"),
    (Nav::Suppressions, "/ui/suppressions", "Suppressions"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Voice runtime" }
            link rel="stylesheet" href=(assets::CSS_PATH);
            script src=(assets::JS_PATH) defer {}
        }
    }
}

/// A signed-in page.
pub fn page(ctx: &Ctx, title: &str, current: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui/campaigns" { "Voice runtime" }
                    nav aria-label="Main" {
                        ul {
                            @for (entry, href, label) in ENTRIES {
                                li {
                                    @if entry == current {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                            li { a href="/docs" { "API" } }
                        }
                    }
                    @if ctx.signed_in_with_key {
                        form.sign-out method="post" action="/ui/sign-out" {
                            input type="hidden" name="csrf" value=(ctx.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A page outside the session: sign-in, errors.
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { span.brand { "Voice runtime" } }
                main #main { (body) }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// What a console page may load and do: only our own origin, no inline script, no framing
/// by another site. A second wall behind escaping, should a value ever slip through.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A page's HTML response.
pub fn respond(markup: Markup) -> actix_web::HttpResponse {
    html_response(actix_web::http::StatusCode::OK, markup)
}

pub fn html_response(
    status: actix_web::http::StatusCode,
    markup: Markup,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .body(markup.into_string())
}

/// After a successful form: back to a page with a GET (so a reload does not post again).
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_string()))
        .finish()
}

/// A rate as a percentage, or a dash when there is nothing to divide by.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{:.0}%", r * 100.0))
}

/// A time as the operator reads it (UTC, to the second).
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
