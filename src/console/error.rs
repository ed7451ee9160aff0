//! The console's one error type: every failure is a page with a status and a sentence, in the
//! same layout as the rest (never a JSON body in front of an operator).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use crate::api::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// What the API would have answered (not found, conflict, a store failure…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A form without this session's CSRF token, or posted from another origin.
    #[error("this form has expired or came from another site; reload the page and try again")]
    Csrf,
    /// The page was reached without the session the gate admits (a routing mistake of ours).
    #[error("not signed in")]
    NoSession,
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Api(e.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::Api(e) => e.status_code(),
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NoSession => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::Api(ApiError::Internal(detail)) = self {
            tracing::error!(%detail, "console page failed");
        }
        let status = self.status_code();
        let body = super::layout::bare_page(
            "Something went wrong",
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p role="alert" { (self.to_string()) }
                p { a href="/ui/campaigns" { "Back to campaigns" } }
            },
        );
        super::layout::html_response(status, body)
    }
}
