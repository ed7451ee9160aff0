//! The HTTP fakes' common start-up: a one-worker actix-web server on a loopback port, sharing
//! the fake's knobs with its handlers.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpServer};

use super::profile::{Delay, Timings};
use super::Knobs;

/// Set on each new TCP connection: its first request pays the handshakes.
#[derive(Clone)]
struct FreshConnection(Arc<AtomicBool>);

/// Under the realistic profile, the first request on a new connection waits two more round
/// trips: TCP's handshake and TLS 1.3's (the real providers are HTTPS). A client that keeps
/// its connections warm pays them once, not in a caller's turn.
pub fn connection_setup(req: &HttpRequest, knobs: &Knobs, rtt: fn(&Timings) -> Delay) -> Duration {
    let fresh = req
        .conn_data::<FreshConnection>()
        .is_some_and(|c| c.0.swap(false, Ordering::SeqCst));
    if fresh {
        knobs.sample(rtt) + knobs.sample(rtt)
    } else {
        Duration::ZERO
    }
}

/// Serves `routes` on `127.0.0.1:port` (0 = any free port); returns the port and the knobs.
pub fn serve<F>(port: u16, routes: F) -> std::io::Result<(u16, Knobs)>
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    let knobs = Knobs::default();
    let data = web::Data::new(knobs.clone());
    let counted = knobs.clone();
    let server =
        HttpServer::new(move || App::new().app_data(data.clone()).configure(routes.clone()))
            .workers(1)
            // Real providers keep an idle connection for about a minute, not actix's 5 s.
            .keep_alive(Duration::from_secs(75))
            .on_connect(move |_, extensions| {
                counted.connection_opened();
                extensions.insert(FreshConnection(Arc::new(AtomicBool::new(true))));
            })
            .listen(listener)?
            .run();
    actix_web::rt::spawn(server);
    Ok((port, knobs))
}

/// `GET /_fake/stats`: the fake's open streams and injected faults, as JSON.
pub async fn stats(knobs: web::Data<Knobs>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(knobs.stats())
}
