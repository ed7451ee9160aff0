//! The REST API (actix-web): one file per resource, errors in `error.rs`.

pub mod analytics;
pub mod auth;
pub mod campaign_control;
pub mod campaigns;
pub mod debug;
pub mod docs_page;
pub mod error;
pub mod exotel_auth;
pub mod exports;
pub mod extract;
pub mod handoff;
pub mod health;
pub mod leads;
pub mod media;
pub mod openapi;
pub mod recordings;
pub mod spreadsheet_cell;
pub mod state;
pub mod suppressions;
pub mod webhooks;

pub use error::ApiError;
pub use state::AppState;

use actix_web::web;

/// Every route of the REST API. Each is described in `openapi::ApiDoc`; a test there reads
/// this function's source and fails on a route the document lacks.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(extract::configure_extractors)
        .route("/health", web::get().to(health::health))
        .route("/metrics", web::get().to(health::metrics))
        .service(
            web::resource("/campaigns")
                .route(web::post().to(campaigns::create))
                .route(web::get().to(campaigns::list)),
        )
        .service(
            web::resource("/campaigns/{id}")
                .route(web::get().to(campaigns::get))
                .route(web::patch().to(campaigns::update)),
        )
        .route(
            "/campaigns/{id}/upload-csv",
            web::post().to(leads::upload_csv),
        )
        .route("/campaigns/{id}/leads", web::get().to(leads::list))
        .route(
            "/campaigns/{id}/webhook-deliveries",
            web::get().to(campaigns::webhook_deliveries),
        )
        .service(
            web::resource("/suppressions")
                .route(web::get().to(suppressions::list))
                .route(web::post().to(suppressions::add)),
        )
        .route(
            "/suppressions/upload-csv",
            web::post().to(suppressions::upload_csv),
        )
        .route(
            "/suppressions/{phone}",
            web::delete().to(suppressions::remove),
        )
        .route(
            "/campaigns/{id}/start",
            web::post().to(campaign_control::start),
        )
        .route(
            "/campaigns/{id}/pause",
            web::post().to(campaign_control::pause),
        )
        .route(
            "/webhooks/exotel/call-status",
            web::post().to(webhooks::call_status),
        )
        .route("/media", web::get().to(media::socket))
        .route(
            "/exotel/voicebot-url",
            web::get().to(media::voicebot_url_get),
        )
        .route(
            "/exotel/voicebot-url",
            web::post().to(media::voicebot_url_post),
        )
        .route("/exotel/passthru", web::get().to(handoff::passthru_get))
        .route("/exotel/passthru", web::post().to(handoff::passthru_post))
        .route(
            "/exotel/transfer-destination",
            web::get().to(handoff::transfer_destination),
        )
        .route(
            "/exotel/transfer-result",
            web::get().to(handoff::transfer_result_get),
        )
        .route(
            "/exotel/transfer-result",
            web::post().to(handoff::transfer_result_post),
        )
        .route("/debug/sessions", web::get().to(debug::sessions))
        .route("/debug/actors", web::get().to(debug::actors))
        .route(
            "/analytics/campaign/{id}",
            web::get().to(analytics::campaign),
        )
        .route("/exports/calls/{id}", web::get().to(exports::calls))
        .route(
            "/calls/{id}/recording",
            web::get().to(recordings::recording),
        )
        .route("/openapi.json", web::get().to(openapi::openapi_json))
        .route("/docs", web::get().to(docs_page::docs));
}

/// Unknown routes answer with the same JSON error body as everything else.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}
