//! Sign in with the API key, sign out. With no `API_KEY` there is nothing to sign in to: the
//! gate opens the console to loopback clients, so the sign-in page just sends them on.

use actix_web::cookie::Cookie;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::context::Ctx;
use super::layout::{bare_page, html_response, see_other};
use super::{gate, session, ConsoleError};
use crate::api::AppState;
use crate::signing::same_tag;

#[derive(Deserialize)]
pub struct SignInForm {
    api_key: String,
}

fn form(error: Option<&str>) -> HttpResponse {
    let page = bare_page(
        "Sign in",
        html! {
            h1 { "Sign in" }
            form.stack.card method="post" action="/ui/sign-in" {
                div.field.invalid[error.is_some()] {
                    label for="api_key" { "API key" }
                    input #api_key type="password" name="api_key" autocomplete="current-password"
                        required autofocus aria-describedby=[error.map(|_| "api_key-error")];
                    @if let Some(error) = error {
                        p.field-error #api_key-error role="alert" { (error) }
                    }
                    p.hint { "The server's API_KEY. The console keeps a signed session cookie for 12 hours." }
                }
                div { button type="submit" { "Sign in" } }
            }
        },
    );
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNAUTHORIZED
    } else {
        actix_web::http::StatusCode::OK
    };
    html_response(status, page)
}

pub async fn page(state: web::Data<AppState>) -> HttpResponse {
    if state.settings.api_key.is_none() {
        return see_other("/ui/campaigns");
    }
    form(None)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<SignInForm>,
) -> HttpResponse {
    let Some(api_key) = state.settings.api_key.as_deref() else {
        return see_other("/ui/campaigns");
    };
    if !same_tag(api_key, body.api_key.trim()) {
        tracing::warn!("console sign-in with a wrong key");
        return form(Some("That is not the server's API key."));
    }
    let session = session::start(state.clock.now().timestamp());
    let https = req.connection_info().scheme() == "https";
    let cookie = gate::session_cookie(&state, &session, https);
    let mut response = see_other("/ui/campaigns");
    // A freshly built cookie always has a valid header value.
    let _ = response.add_cookie(&cookie);
    response
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    ctx: Ctx,
    req: HttpRequest,
    body: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.check_form(&req, &body.csrf)?;
    let mut response = see_other("/ui/sign-in");
    let mut gone = Cookie::new(session::COOKIE, "");
    gone.set_path("/");
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    Ok(response)
}
