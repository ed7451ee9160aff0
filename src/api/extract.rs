//! Request extractors whose failures are `ApiError`s: JSON that names the offending field, and
//! the error handlers for actix's own path and query extractors.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body; a syntax error, a wrong type or an unknown field is a 400 naming the field.
pub struct ValidJson<T>(pub T);

/// JSON bodies are small; anything larger is refused without being read.
const JSON_LIMIT: usize = 64 * 1024;

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Box::pin(async move {
            if !content_type.is_empty() && !content_type.contains("json") {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "expected Content-Type: application/json, got {content_type}"
                )));
            }
            let bytes = body
                .await
                .map_err(|e| match e.as_response_error().status_code() {
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE => {
                        ApiError::PayloadTooLarge { limit: JSON_LIMIT }
                    }
                    _ => ApiError::bad_request(None, format!("could not read the body: {e}")),
                })?;
            let mut de = serde_json::Deserializer::from_slice(&bytes);
            let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let path = e.path().to_string();
                let field = (path != ".").then_some(path);
                ApiError::BadRequest {
                    message: format!("invalid JSON body: {}", e.inner()),
                    field,
                }
            })?;
            Ok(ValidJson(value))
        })
    }
}

/// Configures actix's path extractor so its failures use our error body.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(JSON_LIMIT)).app_data(
        web::PathConfig::default().error_handler(|err, _| {
            ApiError::bad_request(Some("id"), format!("invalid path parameter: {err}")).into()
        }),
    );
}

/// Query parameters, read as text and converted by the handler field by field so that every
/// error names its parameter.
pub struct QueryParams(pub std::collections::HashMap<String, String>);

impl QueryParams {
    pub fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(|q| QueryParams(q.into_inner()))
            .map_err(|e| ApiError::bad_request(None, format!("unreadable query string: {e}")))
    }

    /// An optional parameter parsed as `T`; a present but unparsable value is a 400 naming it.
    pub fn get<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|_| {
                ApiError::bad_request(
                    Some(name),
                    format!("query parameter {name}={raw:?} is not valid"),
                )
            }),
        }
    }
}

/// `?limit=&offset=`: a page of a list. Both may be left out (the defaults below).
#[derive(Debug, Clone, Copy, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// How many items, at most.
    #[param(required = false, minimum = 1, maximum = 1000, default = json!(Page::DEFAULT_LIMIT))]
    pub limit: i64,
    /// How many items to skip.
    #[param(required = false, minimum = 0, default = 0)]
    pub offset: i64,
}

impl Page {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 1000;

    pub fn from_query(q: &QueryParams) -> Result<Page, ApiError> {
        let limit: i64 = q.get("limit")?.unwrap_or(Self::DEFAULT_LIMIT);
        let offset: i64 = q.get("offset")?.unwrap_or(0);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("limit must be 1..={}", Self::MAX_LIMIT),
            ));
        }
        if offset < 0 {
            return Err(ApiError::invalid("offset", "offset must not be negative"));
        }
        Ok(Page { limit, offset })
    }
}
