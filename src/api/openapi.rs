//! The OpenAPI 3 description of the REST API, served at `GET /openapi.json`.
//!
//! Assembled by `utoipa` from the handlers' own `#[utoipa::path]` annotations and from the
//! request and response types themselves (`ToSchema`), so a field added to a response type is
//! in the document without anyone writing it twice. The tests below hold the document and the
//! routes of `routes()` together, method by method, and its security to `auth::is_public`.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::{
    analytics, campaign_control, campaigns, debug, docs_page, exports, handoff, health, leads,
    media, recordings, suppressions, webhooks, ApiError,
};

/// The document. Every route of `routes()` is listed in `paths`, grouped as the docs page
/// shows them; each needs the API key unless its own annotation says otherwise.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "voice-runtime REST API",
        description = "Outbound calling campaigns over Exotel with streaming STT, LLM and TTS. \
Every error, on every route, has the body `ErrorBody`: `{\"error\": {\"code\", \"message\", \"field\"?}}`; \
any route may also answer 500 (`internal`, details in the server log) or, when the database pool \
is exhausted, 503 (`unavailable`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        campaigns::create,
        campaigns::list,
        campaigns::get,
        campaigns::update,
        campaign_control::start,
        campaign_control::pause,
        campaigns::webhook_deliveries,
        leads::upload_csv,
        leads::list,
        suppressions::list,
        suppressions::add,
        suppressions::upload_csv,
        suppressions::remove,
        analytics::campaign,
        exports::calls,
        recordings::recording,
        health::health,
        health::metrics,
        debug::sessions,
        debug::actors,
        webhooks::call_status,
        media::voicebot_url_get,
        media::voicebot_url_post,
        handoff::passthru_get,
        handoff::passthru_post,
        handoff::transfer_destination,
        handoff::transfer_result_get,
        handoff::transfer_result_post,
        media::socket,
        openapi_json,
        docs_page::docs,
    ),
    // Schemas named only inside a parameter tuple are not collected by themselves.
    components(schemas(exports::ExportFormat)),
    modifiers(&SecuritySchemes),
    security(("api_key" = [])),
    tags(
        (name = "campaigns", description = "Create, edit, start and pause campaigns"),
        (name = "leads", description = "A campaign's lead list"),
        (name = "suppressions", description = "The node-wide do-not-call list"),
        (name = "analytics", description = "A campaign's figures"),
        (name = "exports", description = "A campaign's calls with their transcripts"),
        (name = "operations", description = "Health, metrics and what is live on this node"),
        (name = "exotel", description = "Called by Exotel, not by operators: authorised by `WEBHOOK_SECRET` or a per-call token instead of the API key"),
        (name = "api description", description = "This document and its page"),
    ),
)]
pub struct ApiDoc;

/// The schemes the operations name in their `security`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "api_key",
            bearer(
                "`Authorization: Bearer <API_KEY>`. With no `API_KEY` set, the API answers \
                 clients on the same host without a token, and no one else (a request through \
                 a reverse proxy is not a local one).",
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            bearer("`Authorization: Bearer <METRICS_TOKEN>`: opens `/metrics` only."),
        );
        components.add_security_scheme(
            "webhook_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "`?token=`: the shared `WEBHOOK_SECRET`, or the per-call token of a URL the \
                 runtime minted (with the call's ids in `ref`).",
            ))),
        );
        components.add_security_scheme(
            "webhook_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("HTTP Basic with `WEBHOOK_SECRET` as the password."))
                    .build(),
            ),
        );
    }
}

/// The document as served, made once: it cannot change while the process runs.
static DOCUMENT_JSON: LazyLock<Result<String, String>> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .map_err(|e| e.to_string())
});

/// This OpenAPI document
///
/// The OpenAPI 3.1 description of every route, generated from the handlers' own types.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi_json",
    tag = "api description",
    responses(
        (status = 200, description = "The OpenAPI document", body = serde_json::Value),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
)]
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    let json = DOCUMENT_JSON
        .as_ref()
        .map_err(|e| ApiError::Internal(format!("the OpenAPI document did not serialise: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(json.clone()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::auth::is_public;
    use crate::api::docs_page::endpoints;

    /// The (method, path) pairs `routes()` registers, read from its source: actix has no
    /// public list of its routes. Each `web::get()` (post, patch, delete, put) belongs to the
    /// path literal before it, which covers both `.route("/p", web::get()…)` and
    /// `web::resource("/p").route(web::get()…)`.
    fn registered_routes() -> BTreeSet<(String, String)> {
        let source = include_str!("mod.rs");
        let start = source
            .find("pub fn routes(")
            .expect("routes() is in src/api/mod.rs");
        let body = &source[start..];
        let end = body.find("\n}\n").expect("routes() ends");
        let body = &body[..end];
        let mut routes = BTreeSet::new();
        let mut path: Option<String> = None;
        let mut rest = body;
        while !rest.is_empty() {
            if let Some(after_quote) = rest.strip_prefix("\"/") {
                let close = after_quote.find('"').expect("a closed string literal");
                path = Some(format!("/{}", &after_quote[..close]));
                rest = &after_quote[close + 1..];
                continue;
            }
            if let Some(after) = rest.strip_prefix("web::") {
                let method = ["get", "post", "patch", "delete", "put"]
                    .into_iter()
                    .find(|m| after.starts_with(&format!("{m}()")));
                if let Some(method) = method {
                    let path = path.clone().expect("a method after a path");
                    routes.insert((method.to_string(), path));
                }
            }
            let next = rest.chars().next().map_or(1, char::len_utf8);
            rest = &rest[next..];
        }
        routes
    }

    fn documented_routes() -> BTreeSet<(String, String)> {
        let doc = ApiDoc::openapi();
        doc.paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                endpoints(item)
                    .into_iter()
                    .map(move |(method, _)| (method.to_string(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn the_source_reading_finds_the_routes() {
        let routes = registered_routes();
        assert!(
            routes.contains(&("get".into(), "/campaigns/{id}".into())),
            "{routes:?}"
        );
        assert!(routes.contains(&("patch".into(), "/campaigns/{id}".into())));
        assert!(routes.contains(&("post".into(), "/exotel/voicebot-url".into())));
        assert!(routes.len() >= 25, "{routes:?}");
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let registered = registered_routes();
        let documented = documented_routes();
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&registered).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}"
        );
        assert!(stale.is_empty(), "documented but not routed: {stale:?}");
    }

    /// Client generators name their methods after these.
    #[test]
    fn operation_ids_are_unique() {
        let doc = ApiDoc::openapi();
        let mut seen = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in endpoints(item) {
                let id = op.operation_id.clone().unwrap_or_default();
                assert!(!id.is_empty(), "{method} {path} has an operation id");
                assert!(seen.insert(id.clone()), "{id} is used twice");
            }
        }
    }

    /// Routes the auth middleware lets through name no API key; every other route does.
    #[test]
    fn security_matches_the_auth_middleware() {
        let doc = ApiDoc::openapi();
        let global = doc.security.clone().unwrap_or_default();
        let schemes = doc
            .components
            .as_ref()
            .map(|c| c.security_schemes.clone())
            .unwrap_or_default();
        for (path, item) in &doc.paths.paths {
            for (method, op) in endpoints(item) {
                let security = op.security.clone().unwrap_or_else(|| global.clone());
                let names: Vec<String> = security
                    .iter()
                    .flat_map(|requirement| {
                        let value = serde_json::to_value(requirement).unwrap_or_default();
                        value
                            .as_object()
                            .map(|o| o.keys().cloned().collect::<Vec<_>>())
                            .unwrap_or_default()
                    })
                    .collect();
                for name in &names {
                    assert!(
                        schemes.contains_key(name),
                        "{method} {path}: unknown scheme {name}"
                    );
                }
                let wants_key = names.iter().any(|n| n == "api_key");
                assert_eq!(
                    wants_key,
                    !is_public(path),
                    "{method} {path}: documented security {names:?}"
                );
            }
        }
    }

    #[test]
    fn page_limits_match_the_extractor() {
        let doc = ApiDoc::openapi();
        let json = serde_json::to_value(&doc).expect("serialises");
        let params = &json["paths"]["/campaigns"]["get"]["parameters"];
        let limit = params
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
            .expect("limit is documented");
        let max = crate::api::extract::Page::MAX_LIMIT;
        assert_eq!(limit["schema"]["maximum"], max, "{limit}");
    }

    /// Every `$ref` names a schema of `components` (a schema named only in a parameter tuple
    /// is not collected by itself).
    #[test]
    fn every_reference_resolves() {
        fn refs(value: &serde_json::Value, found: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                        found.push(r.clone());
                    }
                    map.values().for_each(|v| refs(v, found));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
                _ => {}
            }
        }
        let json = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        let mut found = Vec::new();
        refs(&json, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r} points into components/schemas"));
            assert!(
                json["components"]["schemas"].get(name).is_some(),
                "{r} resolves"
            );
        }
    }

    /// The text enums show the words stored and sent, not the Rust variant names.
    #[test]
    fn status_enums_show_their_text() {
        use crate::domain::{CallStatus, LeadStatus};
        let json = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        let values = |name: &str| json["components"]["schemas"][name]["enum"].clone();
        let texts = |all: Vec<&str>| serde_json::json!(all);
        assert_eq!(
            values("LeadStatus"),
            texts(LeadStatus::ALL.iter().map(|s| s.as_str()).collect())
        );
        assert_eq!(
            values("CallStatus"),
            texts(CallStatus::ALL.iter().map(|s| s.as_str()).collect())
        );
    }

    #[test]
    fn the_document_serialises() {
        let json = DOCUMENT_JSON.as_ref().expect("serialises");
        let value: serde_json::Value = serde_json::from_str(json).expect("is JSON");
        assert!(value["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")));
    }
}
