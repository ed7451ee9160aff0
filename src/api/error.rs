//! The API's error type and its JSON body: `{"error": {"code", "message", "field"?}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::store::StoreError;

/// Every way a request can fail, each with its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, a wrong type, an unparsable query or path parameter.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("missing or wrong bearer token")]
    Unauthorized(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is well-formed but the resource's state forbids it.
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but semantically wrong (an hour of 25, an unknown playbook, a CSV without phones).
    #[error("{message}")]
    Unprocessable {
        message: String,
        field: Option<String>,
    },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Our fault; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest { .. } => ErrorCode::BadRequest,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::Unprocessable { .. } => ErrorCode::Invalid,
            ApiError::Unavailable(_) => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::Unprocessable { field, .. } => {
                field.as_deref()
            }
            _ => None,
        }
    }
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

/// What went wrong, for a program (`code`) and for a person (`message`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail<'a> {
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault, when one is (`name`, `limit`, `.calling_hours_end`, `file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
}

/// The kind of failure; one per HTTP status the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400
    BadRequest,
    /// 401
    Unauthorized,
    /// 404
    NotFound,
    /// 409
    Conflict,
    /// 413
    PayloadTooLarge,
    /// 415
    UnsupportedMediaType,
    /// 422
    Invalid,
    /// 503
    Unavailable,
    /// 500
    Internal,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Unauthorized(why) => why.to_string(),
            other => other.to_string(),
        };
        if let ApiError::Internal(detail) = self {
            tracing::error!(%detail, "request failed");
        }
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message,
                field: self.field(),
            },
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            StoreError::Database(sqlx::Error::PoolTimedOut) => {
                ApiError::Unavailable("the database is not answering".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}
