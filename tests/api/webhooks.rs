//! Outbound webhooks: a campaign's `webhook_url` hears `call.ended`, signed, from a durable
//! outbox, retried until the receiver takes it.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use voice_runtime::outbound_webhooks::signature;

use crate::both_backends;
use crate::engine_support::eventually;
use crate::helpers::{error_of, spawn_app_with, Backend};
use crate::live_support::*;

pub const SECRET: &str = "receiver-shares-this-secret";

/// What a receiver got: the signature header, the delivery id and the body.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<(String, String, String)>>>);

/// A receiver on a free port answering each POST with the next of `statuses` (then 200);
/// a status of 0 stalls: the request is read, and no answer comes for a minute.
pub async fn receiver(statuses: Vec<u16>) -> (String, Received) {
    let received = Received::default();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    let (r, s) = (received.clone(), statuses.clone());
    let server = HttpServer::new(move || {
        let (r, s) = (r.clone(), s.clone());
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let (r, s) = (r.clone(), s.clone());
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    r.0.lock().unwrap().push((
                        header(signature::HEADER),
                        header("X-Voice-Runtime-Delivery"),
                        String::from_utf8_lossy(&body).to_string(),
                    ));
                    let status = s.lock().unwrap().next().unwrap_or(200);
                    if status == 0 {
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        return HttpResponse::Ok().finish();
                    }
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .finish()
                }
            }),
        )
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}/hook", server.addrs()[0]);
    actix_rt::spawn(server.run());
    (url, received)
}

/// One qualifying call of a campaign whose webhook is a `receiver(statuses)`, retried after
/// a second, `max_attempts` times; returns once the call is saved.
async fn a_call_reporting_to(
    backend: Backend,
    statuses: Vec<u16>,
    max_attempts: &str,
) -> (LiveApp, i64, Received) {
    let (url, received) = receiver(statuses).await;
    let vars = [
        ("OUTBOUND_WEBHOOK_SECRET", SECRET),
        ("OUTBOUND_WEBHOOK_RETRY_SECONDS", "1"),
        ("OUTBOUND_WEBHOOK_MAX_ATTEMPTS", max_attempts),
    ];
    let live = live_app_with(backend, 8000, &vars).await;
    let id = live
        .call_in(interested(), json!({"webhook_url": url}))
        .await;
    (live, id, received)
}

async fn a_bad_webhook_url_is_refused_naming_the_field(backend: Backend) {
    let app = spawn_app_with(backend, &[("OUTBOUND_WEBHOOK_SECRET", SECRET)]).await;
    for url in [
        "ftp://example.com/hook",
        "not a url",
        "https://",
        "mailto:ops@example.com",
    ] {
        let response = app
            .post("/campaigns")
            .json(&json!({"name": "c", "webhook_url": url}))
            .send()
            .await
            .unwrap();
        let error = error_of(response, 422).await;
        assert_eq!(error["field"], "webhook_url", "{url}: {error}");
    }
    let campaign = app
        .create_campaign(json!({"name": "c", "webhook_url": "https://crm.example.com/hook"}))
        .await;
    assert_eq!(campaign["webhook_url"], "https://crm.example.com/hook");
    // "" removes it.
    let id = campaign["id"].as_i64().unwrap();
    let patched: Value = app
        .client
        .patch(app.url(&format!("/campaigns/{id}")))
        .json(&json!({"webhook_url": ""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(patched["webhook_url"].is_null(), "{patched}");

    // Without a secret to sign with, no campaign may have a webhook.
    let unsigned = spawn_app_with(backend, &[]).await;
    let response = unsigned
        .post("/campaigns")
        .json(&json!({"name": "c", "webhook_url": "https://crm.example.com/hook"}))
        .send()
        .await
        .unwrap();
    let error = error_of(response, 422).await;
    assert_eq!(error["field"], "webhook_url");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("OUTBOUND_WEBHOOK_SECRET"));
}

/// The receiver fails the first attempt (500): the event is sent again after the backoff,
/// signed, with the same delivery id, and the campaign's deliveries say DELIVERED in 2.
async fn a_finished_call_is_posted_signed_and_retried_until_taken(backend: Backend) {
    let (live, id, received) = a_call_reporting_to(backend, vec![500], "12").await;
    let e = &live.e;
    eventually(
        60,
        "the event is delivered on the second attempt",
        || async {
            // The retry is due a second after the failure on the engine's clock.
            e.clock.advance(chrono::Duration::seconds(2));
            received.0.lock().unwrap().len() >= 2
        },
    )
    .await;
    let got = received.0.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "sent again after it was taken");
    let now = chrono::Utc::now().timestamp();
    for (header, delivery, body) in &got {
        assert!(
            signature::verify(SECRET, header, body.as_bytes(), now, 300),
            "{header}"
        );
        assert_eq!(delivery, &got[0].1, "the same delivery id on every attempt");
    }
    let event: Value = serde_json::from_str(&got[1].2).unwrap();
    assert_eq!(event["event"], "call.ended");
    assert_eq!(event["campaign"]["id"], id);
    assert_eq!(event["lead"]["name"], "Lead 0");
    assert_eq!(event["outcome"], "qualified");
    assert_eq!(event["qualified"], true);
    assert_eq!(event["facts"]["location"], "Pune");
    assert!(event["call_sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(event["links"]["transcript"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/exports/calls/{id}")));
    // Not recorded (no RECORDINGS_DIR, no recording from Exotel): no link to one.
    assert!(event["links"].get("recording").is_none(), "{event}");
    // The receiver counted the request before its answer reached the sender, which records
    // the delivery after that (a race this test once lost under load).
    let path = format!("/campaigns/{id}/webhook-deliveries");
    eventually(10, "the delivery is recorded", || async {
        e.app.get_json(&path).await["items"][0]["status"] == "DELIVERED"
    })
    .await;
    let deliveries = e.app.get_json(&path).await;
    let d = &deliveries["items"][0];
    assert_eq!(d["attempts"], 2, "{deliveries}");
    assert_eq!(d["last_status"], 200, "{deliveries}");
    assert!(d.get("url").is_none() && d.get("payload").is_none());
}

/// A receiver that never takes it: after the last attempt the delivery is FAILED, with the
/// receiver's last status, and nothing is sent again.
async fn a_delivery_that_never_succeeds_ends_failed(backend: Backend) {
    let (live, id, received) = a_call_reporting_to(backend, vec![503; 10], "3").await;
    let e = &live.e;
    let path = format!("/campaigns/{id}/webhook-deliveries");
    eventually(60, "the delivery fails for good", || async {
        e.clock.advance(chrono::Duration::seconds(10));
        e.app.get_json(&path).await["items"][0]["status"] == "FAILED"
    })
    .await;
    let d = e.app.get_json(&path).await;
    assert_eq!(d["items"][0]["attempts"], 3, "{d}");
    assert_eq!(d["items"][0]["last_status"], 503, "{d}");
    assert_eq!(received.0.lock().unwrap().len(), 3);
}

/// Calls nobody answered are events too: the status, and the retry planned (none after the
/// last attempt).
async fn unanswered_calls_are_posted_with_their_retry(backend: Backend) {
    use crate::engine_support::{campaign_with_leads, engine_app, simulator, start};
    use voice_runtime::sandbox::exotel::Outcome;
    let (url, received) = receiver(vec![]).await;
    let e = engine_app(
        backend,
        simulator(5, 10),
        &[
            ("OUTBOUND_WEBHOOK_SECRET", SECRET),
            ("OUTBOUND_WEBHOOK_RETRY_SECONDS", "1"),
        ],
    )
    .await;
    let settings = json!({"webhook_url": url, "max_attempts": 2, "retry_busy_minutes": 1});
    let id = campaign_with_leads(&e, 1, settings, |_| vec![Outcome::Busy, Outcome::NoAnswer]).await;
    start(&e, id).await;
    eventually(60, "both attempts are posted", || async {
        e.clock.advance(chrono::Duration::seconds(30));
        received.0.lock().unwrap().len() >= 2
    })
    .await;
    let events: Vec<Value> = received
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, body)| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    let (busy, no_answer) = (&events[0], &events[1]);
    assert_eq!(busy["event"], "call.ended");
    assert_eq!(busy["answered"], false, "{busy}");
    assert_eq!(busy["status"], "BUSY", "{busy}");
    assert!(busy["retry_at"].is_string(), "a retry is planned: {busy}");
    assert_eq!(busy["campaign"]["id"], id, "{busy}");
    assert_eq!(no_answer["status"], "NO_ANSWER", "{no_answer}");
    assert!(
        no_answer["retry_at"].is_null(),
        "the last attempt: {no_answer}"
    );
    assert_eq!(no_answer["attempt"], 2, "{no_answer}");
}

/// A receiver that takes the request and never answers costs one attempt (the timeout), not
/// the event: it is sent again and delivered.
async fn a_stalled_receiver_times_out_and_the_event_is_sent_again(backend: Backend) {
    let (url, received) = receiver(vec![0]).await;
    let vars = [
        ("OUTBOUND_WEBHOOK_SECRET", SECRET),
        ("OUTBOUND_WEBHOOK_RETRY_SECONDS", "1"),
        ("OUTBOUND_WEBHOOK_TIMEOUT_SECONDS", "1"),
    ];
    let live = live_app_with(backend, 8000, &vars).await;
    let id = live
        .call_in(interested(), json!({"webhook_url": url}))
        .await;
    let e = &live.e;
    let path = format!("/campaigns/{id}/webhook-deliveries");
    eventually(60, "the event is delivered after the stall", || async {
        e.clock.advance(chrono::Duration::seconds(2));
        e.app.get_json(&path).await["items"][0]["status"] == "DELIVERED"
    })
    .await;
    let d = e.app.get_json(&path).await;
    assert_eq!(d["items"][0]["attempts"], 2, "{d}");
    let got = received.0.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "the stalled request, then the one taken");
    assert_eq!(got[0].1, got[1].1, "the same delivery id");
}

both_backends!(
    unanswered_calls_are_posted_with_their_retry,
    a_stalled_receiver_times_out_and_the_event_is_sent_again,
    a_bad_webhook_url_is_refused_naming_the_field,
    a_finished_call_is_posted_signed_and_retried_until_taken,
    a_delivery_that_never_succeeds_ends_failed,
);
