//! The chaos run, short (CI): seeded, 35 leads, one SIGKILL of the real server, every kind of
//! fault (dial replies at three times the default rate), on both databases. No invariant may
//! break. And the simulator's callback faults themselves, seen from a receiver.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use voice_runtime::chaos::{ChaosOptions, FaultRates};
use voice_runtime::sandbox::exotel::CallbackFaultRates;

use crate::helpers::{database_url, Backend};

async fn chaos_run_breaks_no_invariant(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match backend {
        // The run makes (and removes) its own SQLite file.
        Backend::Sqlite => None,
        Backend::Postgres => Some(database_url(backend, &dir).await),
    };
    let options = ChaosOptions {
        seed: 9,
        leads: 35,
        kills: 1,
        // Three times the default dial faults, so that a short run still puts dials in doubt.
        rates: FaultRates {
            dial: 0.15,
            ..FaultRates::default()
        },
        database_url,
        concurrency: 12,
        // A bound, not a figure: the run stops by itself and its report says what was left.
        timeout: Duration::from_secs(240),
        server_exe: Some(env!("CARGO_BIN_EXE_voice-runtime").into()),
        quiet: true,
    };
    let report = voice_runtime::chaos::run(options)
        .await
        .expect("the chaos run runs");
    let text = report.render();
    println!("{text}");
    assert_eq!(report.faults.kills, 1, "{text}");
    assert!(report.dials > 0 && report.answered > 0, "{text}");
    assert_eq!(report.violations(), 0, "{text}");
}

crate::both_backends!(chaos_run_breaks_no_invariant);

/// What a status-callback receiver got: each callback's `EventType`, in arrival order.
async fn callbacks_received(rates: CallbackFaultRates) -> Vec<String> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    use voice_runtime::sandbox::exotel::{CallbackFaults, ExotelSimulator, SimulatorConfig};

    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = got.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let receiver = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().route(
            "/cb",
            web::post().to(move |form: web::Form<HashMap<String, String>>| {
                let sink = sink.clone();
                async move {
                    let event = form.get("EventType").cloned().unwrap_or_default();
                    sink.lock().expect("lock").push(event);
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = receiver.handle();
    actix_rt::spawn(receiver);

    let mut config = SimulatorConfig::new("acct", "key", "token");
    config.scenario.ring_time = Duration::from_millis(50);
    config.scenario.talk_time = Duration::from_millis(50);
    config.callback_faults = CallbackFaults::new(1, rates);
    let sim = ExotelSimulator::start(config).expect("simulator");
    let dial = reqwest::Client::new()
        .post(format!(
            "{}/v1/Accounts/acct/Calls/connect.json",
            sim.base_url
        ))
        .basic_auth("key", Some("token"))
        .form(&[
            ("From", "+919800000001"),
            ("CallerId", "+918000000000"),
            ("Url", "http://127.0.0.1:9/flow"),
            ("StatusCallback", &format!("http://127.0.0.1:{port}/cb")),
        ])
        .send()
        .await
        .expect("dial");
    assert_eq!(dial.status(), 200);
    // The call's life is ring + talk; its callbacks (or their absence) follow at once.
    while sim.live_calls() > 0 {
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    sim.stop().await;
    handle.stop(false).await;
    let events = got.lock().expect("lock").clone();
    events
}

#[actix_rt::test]
async fn the_simulator_drops_duplicates_and_reorders_callbacks_as_asked() {
    let none = CallbackFaultRates::default();
    let cases = [
        (none, vec!["answered", "terminal"]),
        (CallbackFaultRates { drop: 1.0, ..none }, vec![]),
        (
            CallbackFaultRates {
                duplicate: 1.0,
                ..none
            },
            vec!["answered", "answered", "terminal", "terminal"],
        ),
        // The answered callback is held back and arrives after the terminal one.
        (
            CallbackFaultRates {
                reorder: 1.0,
                ..none
            },
            vec!["terminal", "answered"],
        ),
    ];
    for (rates, expected) in cases {
        assert_eq!(callbacks_received(rates).await, expected, "{rates:?}");
    }
}
