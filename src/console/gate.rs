//! Who may see a console page: a browser with a valid session cookie; with no `API_KEY`, any
//! direct loopback client (it is given a session on the spot, so forms carry CSRF tokens the
//! same way in both modes). Everyone else is sent to the sign-in page.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::ServiceRequest;
use actix_web::HttpMessage;

use super::session::{self, Session};
use crate::api::AppState;

/// What the gate decided for one request.
pub enum Gate {
    /// A signed-in browser.
    Session(Session),
    /// Loopback development with no `API_KEY`: this new session's cookie goes on the response.
    NewSession(Session, Cookie<'static>),
    /// Not signed in: to the sign-in page.
    SignIn,
}

/// The console's paths: `/` and everything under `/ui/`.
pub fn is_console(path: &str) -> bool {
    path == "/" || path == "/ui" || path.starts_with("/ui/")
}

/// Console paths anyone may fetch: the sign-in page and the embedded assets.
pub fn is_public(path: &str) -> bool {
    path == "/ui/sign-in" || path.starts_with("/ui/assets/")
}

/// The session a request's cookie proves, if any.
pub fn session_of(req: &ServiceRequest, state: &AppState) -> Option<Session> {
    let cookie = req.cookie(session::COOKIE)?;
    let key = session::key(state.settings.api_key.as_deref());
    session::decode(&key, cookie.value(), state.clock.now().timestamp())
}

pub fn decide(req: &ServiceRequest, state: &AppState, direct_loopback: bool) -> Gate {
    if let Some(session) = session_of(req, state) {
        return Gate::Session(session);
    }
    if state.settings.api_key.is_none() && direct_loopback && loopback_host(req) {
        let session = session::start(state.clock.now().timestamp());
        let cookie = cookie_for(req, state, &session);
        return Gate::NewSession(session, cookie);
    }
    Gate::SignIn
}

/// The `Host` the browser asked for names this machine. Without it, a page of another site
/// whose name was re-pointed at 127.0.0.1 (DNS rebinding) would be given a session.
fn loopback_host(req: &ServiceRequest) -> bool {
    let host = req.connection_info().host().to_ascii_lowercase();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
        None => host.split(':').next().unwrap_or_default().to_string(),
    };
    matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1")
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
/// sends it), Secure when the browser reached us over https (directly or through a proxy that
/// says so).
pub fn cookie_for(req: &ServiceRequest, state: &AppState, session: &Session) -> Cookie<'static> {
    let https = req.connection_info().scheme() == "https";
    session_cookie(state, session, https)
}

pub fn session_cookie(state: &AppState, session: &Session, https: bool) -> Cookie<'static> {
    let key = session::key(state.settings.api_key.as_deref());
    Cookie::build(session::COOKIE, session::encode(&key, session))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(
            session::LIFETIME_SECONDS,
        ))
        .finish()
}

/// Lets the page handlers read the session the gate admitted.
pub fn admit(req: &ServiceRequest, session: Session) {
    req.extensions_mut().insert(session);
}
