//! The stylesheet and script, compiled into the binary: no build step, no CDN, nothing
//! fetched at run time.

use actix_web::{web, HttpResponse};

pub const CSS_PATH: &str = "/ui/assets/console.css";
pub const JS_PATH: &str = "/ui/assets/console.js";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

pub async fn serve(name: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        // Short: a new binary's assets reach browsers within minutes.
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(body)
}
