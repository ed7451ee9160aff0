//! The console changes things through the REST API's own handlers, called in-process, so an
//! operator sees exactly the API's validation and its messages, and there is one code path for
//! every rule. This file turns their answers back into values a page can render.

use actix_web::HttpResponse;
use serde_json::Value;

use crate::api::ApiError;

/// The JSON body of a handler's successful answer.
pub async fn json_of(response: HttpResponse) -> Result<Value, ApiError> {
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .map_err(|e| ApiError::Internal(format!("reading an API answer: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Internal(format!("an API answer is not JSON: {e}")))
}

/// A form's error, split into the field it names (shown next to that field) and its message.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    /// The API's 4xx answers become form errors; anything else stays an error page.
    pub fn from_api(error: ApiError) -> Result<FormError, ApiError> {
        match &error {
            ApiError::BadRequest { field, message }
            | ApiError::Unprocessable { field, message } => Ok(FormError {
                field: field.clone(),
                message: message.clone(),
            }),
            ApiError::Conflict(message) => Ok(FormError {
                field: None,
                message: message.clone(),
            }),
            _ => Err(error),
        }
    }

    pub fn on(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.message.as_str())
    }
}
