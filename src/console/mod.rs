//! The operator's console: server-rendered HTML pages served by the runtime itself at `/` and
//! `/ui/…`. Pages read through the store and change things through the REST API's own
//! handlers (`api_bridge`), so validation and messages are the API's. maud renders them (the
//! templates are Rust, checked at compile time, and escape every value); a small embedded
//! script adds the live updates (Server-Sent Events) and drag-and-drop; nothing is fetched
//! from anywhere else. `gate` admits a browser by its signed session cookie.

pub mod analytics;
pub mod api_bridge;
pub mod assets;
pub mod calls;
pub mod campaign_form;
pub mod campaigns;
pub mod charts;
pub mod context;
pub mod error;
pub mod gate;
pub mod layout;
pub mod leads;
pub mod live;
pub mod session;
pub mod sign_in;
pub mod suppressions;

pub use error::ConsoleError;

use actix_web::{web, HttpResponse};

/// Every console route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/ui", web::get().to(home))
        .route("/ui/", web::get().to(home))
        .route("/ui/assets/{name}", web::get().to(assets::serve))
        .service(
            web::resource("/ui/sign-in")
                .route(web::get().to(sign_in::page))
                .route(web::post().to(sign_in::submit)),
        )
        .route("/ui/sign-out", web::post().to(sign_in::sign_out))
        .service(
            web::resource("/ui/campaigns")
                .route(web::get().to(campaigns::list))
                .route(web::post().to(campaigns::create)),
        )
        .route("/ui/campaigns/new", web::get().to(campaigns::new_form))
        .route("/ui/campaigns/{id}", web::get().to(campaigns::detail))
        .service(
            web::resource("/ui/campaigns/{id}/edit")
                .route(web::get().to(campaigns::edit_form))
                .route(web::post().to(campaigns::edit)),
        )
        .route(
            "/ui/campaigns/{id}/{switch:start|pause}",
            web::post().to(campaigns::switch),
        )
        .route("/ui/campaigns/{id}/leads", web::post().to(leads::upload))
        .route(
            "/ui/campaigns/{id}/analytics",
            web::get().to(analytics::page_view),
        )
        .route("/ui/calls/{id}", web::get().to(calls::detail))
        .route("/ui/live", web::get().to(live::page_view))
        .route("/ui/live/events", web::get().to(live::events))
        .service(
            web::resource("/ui/suppressions")
                .route(web::get().to(suppressions::list))
                .route(web::post().to(suppressions::add)),
        )
        .route(
            "/ui/suppressions/remove",
            web::post().to(suppressions::remove),
        )
        .route(
            "/ui/suppressions/upload",
            web::post().to(suppressions::upload),
        );
}

async fn home() -> HttpResponse {
    layout::see_other("/ui/campaigns")
}
