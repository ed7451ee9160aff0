//! What every console page handler starts from: the application state, the session the gate
//! admitted and its CSRF token.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};

use super::session::{self, Session};
use super::ConsoleError;
use crate::api::AppState;

pub struct Ctx {
    pub state: web::Data<AppState>,
    pub session: Session,
    /// Put in every form (`csrf` field) and checked on every POST.
    pub csrf: String,
    /// Whether there is anything to sign out of (no `API_KEY` means loopback, no sign-in).
    pub signed_in_with_key: bool,
}

impl Ctx {
    /// Refuses a form unless it carries this session's token and, when the browser says where
    /// it came from, came from our own origin.
    pub fn check_form(&self, req: &HttpRequest, presented: &str) -> Result<(), ConsoleError> {
        let key = session::key(self.state.settings.api_key.as_deref());
        let ours = self.state.settings.our_base_url.as_deref();
        if !session::csrf_ok(&key, &self.session, presented) || !same_origin(req, ours) {
            return Err(ConsoleError::Csrf);
        }
        Ok(())
    }
}

/// An `Origin` header, when sent, must name the host the request came to, or our public URL
/// (`OUR_BASE_URL`: a proxy may pass on a `Host` of its own).
fn same_origin(req: &HttpRequest, our_base_url: Option<&str>) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = req.connection_info().host().to_string();
    let to_this_host = origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(&host));
    let ours = our_base_url
        .and_then(|base| url::Url::parse(base).ok())
        .is_some_and(|base| {
            base.origin()
                .ascii_serialization()
                .eq_ignore_ascii_case(origin)
        });
    to_this_host || ours
}

impl FromRequest for Ctx {
    type Error = ConsoleError;
    type Future = Ready<Result<Ctx, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let session = req.extensions().get::<Session>().cloned();
        ready(match (state, session) {
            (Some(state), Some(session)) => {
                let key = session::key(state.settings.api_key.as_deref());
                Ok(Ctx {
                    csrf: session::csrf_token(&key, &session),
                    signed_in_with_key: state.settings.api_key.is_some(),
                    state,
                    session,
                })
            }
            _ => Err(ConsoleError::NoSession),
        })
    }
}
