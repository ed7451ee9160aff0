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
        if !session::csrf_ok(&key, &self.session, presented) || !same_origin(req) {
            return Err(ConsoleError::Csrf);
        }
        Ok(())
    }
}

/// An `Origin` header, when sent, must name the host the request came to.
fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = req.connection_info().host().to_string();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(&host))
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
