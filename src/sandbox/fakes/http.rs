//! The HTTP fakes' common start-up: a one-worker actix-web server on a loopback port, sharing
//! the fake's knobs with its handlers.

use std::net::TcpListener;

use actix_web::{web, App, HttpServer};

use super::Knobs;

/// Serves `routes` on `127.0.0.1:port` (0 = any free port); returns the port and the knobs.
pub fn serve<F>(port: u16, routes: F) -> std::io::Result<(u16, Knobs)>
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    let knobs = Knobs::default();
    let data = web::Data::new(knobs.clone());
    let server =
        HttpServer::new(move || App::new().app_data(data.clone()).configure(routes.clone()))
            .workers(1)
            .listen(listener)?
            .run();
    actix_web::rt::spawn(server);
    Ok((port, knobs))
}

/// `GET /_fake/stats`: the fake's open streams and injected faults, as JSON.
pub async fn stats(knobs: web::Data<Knobs>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(knobs.stats())
}
