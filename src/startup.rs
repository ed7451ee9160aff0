//! Building and running the application: zero2prod's `Application::build`, so tests can start
//! the real server on port 0 and production starts it on `BIND_ADDR`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::actors::campaign_supervisor::Shutdown;
use crate::actors::{CallRegistryHandle, CampaignSupervisor, Engine};
use crate::api::{self, AppState};
use crate::call::fallback_audio::{elevenlabs_renderer, FallbackAudio};
use crate::call::greeting_audio::GreetingAudio;
use crate::call::messages::TimeUp;
use crate::call::recovery::{recover, Recovered};
use crate::call::spool::Spool;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::conversation::playbook_catalog::PlaybookCatalog;
use crate::outbound_webhooks::{spawn_sender, SenderSettings};
use crate::scheduling::Pacer;
use crate::session_mirror::SessionMirror;
use crate::store::{Store, StoreError};
use crate::telephony::exotel::{ExotelClient, ExotelError};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not open the database: {0}")]
    Database(#[from] StoreError),
    #[error("could not recover the calls the previous process left: {0}")]
    Recovery(#[source] StoreError),
    #[error("could not set up the Exotel client: {0}")]
    Exotel(#[from] ExotelError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("could not create RECORDINGS_DIR {dir}: {source}")]
    Recordings { dir: String, source: std::io::Error },
}

/// A built, not yet running, server and what it was built with.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// Stops a running application: the HTTP server and every campaign actor, leaving the
/// database exactly as it is (tests use it to stop "the process" mid-campaign).
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    state: AppState,
}

impl StopHandle {
    pub async fn stop(&self) {
        self.state.campaigns.do_send(Shutdown);
        self.server.stop(false).await;
    }

    /// The graceful shutdown (SIGTERM/SIGINT): no dial reaches Exotel from now on; webhooks
    /// and live calls' media sockets go on being served; live calls may finish for up to
    /// `grace`, then each says the playbook's time-up line, hangs up and is saved; then the
    /// server stops. Calls still ringing are left to reconciliation at the next start.
    pub async fn drain(&self, grace: Duration) {
        let engine = &self.state.engine;
        engine.start_draining();
        self.state.campaigns.do_send(Shutdown);
        tracing::info!(
            live_calls = live_conversations(engine).len(),
            grace_seconds = grace.as_secs(),
            "shutting down: dialing stopped, waiting for live calls"
        );
        let deadline = tokio::time::Instant::now() + grace;
        // Dials still in flight (an HTTP request already sent) record their answer before we
        // go: a dial whose answer died with the process would cost its lead an attempt.
        while tokio::time::Instant::now() < deadline
            && (calls_to_wait_for(engine) || !engine.live_dials.is_empty())
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if calls_to_wait_for(engine) {
            tracing::info!(
                live_calls = live_conversations(engine).len(),
                "grace period over: ending the remaining calls"
            );
            // The time-up line plays in real time, then the hang-up and the save (which may
            // itself retry and spool): bounded, so a stuck call cannot hold the node forever.
            // A call answered meanwhile is told as soon as its conversation starts, rather
            // than left in silence by a server that stopped under it.
            let deadline = tokio::time::Instant::now() + TIME_UP_WAIT;
            let mut told = Vec::new();
            while tokio::time::Instant::now() < deadline && calls_to_wait_for(engine) {
                for call in live_conversations(engine) {
                    if !told.contains(&call) {
                        call.do_send(TimeUp);
                        told.push(call);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let left = engine.registry.len();
        if left > 0 {
            tracing::info!(
                calls = left,
                "calls not yet answered are left to reconciliation at the next start"
            );
        }
        // Gone on purpose: the other nodes need not wait for this node's lease to run out.
        if let Err(e) = engine
            .store
            .leave(&engine.settings.node_id, engine.clock.now())
            .await
        {
            tracing::warn!(error = %e, "could not record leaving the cluster");
        }
        self.server.stop(true).await;
    }
}

/// How long ended calls get to say their time-up line, hang up and save.
const TIME_UP_WAIT: Duration = Duration::from_secs(60);

/// Whether the shutdown must wait: a conversation is running, or a call was answered and its
/// media socket is on its way.
fn calls_to_wait_for(engine: &Engine) -> bool {
    engine.registry.list().into_iter().any(|c| {
        c.actor.as_ref().is_some_and(|a| a.connected())
            || (c.actor.is_none() && c.status == crate::domain::CallStatus::InProgress)
    })
}

/// Calls whose conversation is running on this node (their media socket is up).
fn live_conversations(engine: &Engine) -> Vec<actix::Addr<crate::call::CallActor>> {
    engine
        .registry
        .list()
        .into_iter()
        .filter_map(|c| c.actor)
        .filter(|a| a.connected())
        .collect()
}

/// The playbooks in `PLAYBOOKS_DIR` at start (an invalid one is skipped: campaigns refuse
/// it by name when they are created).
fn startup_playbooks(dir: &str) -> Vec<crate::conversation::playbook::Playbook> {
    let catalog = PlaybookCatalog::new(dir);
    catalog
        .available()
        .iter()
        .filter_map(|file| catalog.load(file).ok())
        .collect()
}

/// How often the spool is replayed while the node runs (and the database may be back).
const SPOOL_REPLAY_EVERY: Duration = Duration::from_secs(30);

/// Replays the spool every `SPOOL_REPLAY_EVERY` for as long as the node runs (its campaign
/// supervisor is alive: a stopped node leaves the spool to its next start).
fn spawn_spool_replay(engine: Engine, node: actix::Addr<CampaignSupervisor>) {
    actix_rt::spawn(async move {
        let mut every = tokio::time::interval(SPOOL_REPLAY_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            if !node.connected() {
                return;
            }
            let done = engine.spool.replay(&engine.store).await;
            if done.saved > 0 || done.left > 0 {
                tracing::info!(?done, "spool replayed");
            }
        }
    });
}

/// Listens for SIGTERM and SIGINT from now on (registered at once, so a signal that comes
/// before the returned future is first polled is not missed); resolves on the first.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As `build`, with the clock the scheduler and the store read (tests pass a manual one).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        crate::telemetry_metrics::handle();
        crate::domain::pii::set_log_pii(settings.log_pii);
        if let Some(dir) = &settings.recordings_dir {
            // Found out at start, not at the first call.
            std::fs::create_dir_all(dir).map_err(|source| StartupError::Recordings {
                dir: dir.display().to_string(),
                source,
            })?;
        }
        let store = Store::connect(&settings.database_url).await?;
        let listener =
            TcpListener::bind(settings.bind_addr).map_err(|source| StartupError::Bind {
                addr: settings.bind_addr.to_string(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: settings.bind_addr.to_string(),
                source,
            })?
            .port();
        let public_url = settings
            .our_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{port}", settings.bind_addr.ip()));
        let node_url = settings.node_url.clone().unwrap_or_else(|| {
            // Bound to every interface: the other nodes of one machine still reach loopback;
            // on several machines NODE_URL must say where (README, "Several nodes").
            let ip = match settings.bind_addr.ip() {
                ip if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
                ip => ip,
            };
            format!("http://{}", std::net::SocketAddr::new(ip, port))
        });
        let settings = Arc::new(settings);
        let providers = crate::call::providers::ProviderPools::new(settings.clone());
        let playbooks = PlaybookCatalog::new(&settings.playbooks_dir);
        let greetings = GreetingAudio::new(
            (settings.greeting_at_dial && settings.elevenlabs.api_key.is_some())
                .then(|| elevenlabs_renderer(providers.main.elevenlabs.clone())),
            playbooks.clone(),
            &settings.elevenlabs.model,
            settings.elevenlabs.voice_id.clone(),
        );
        let engine = Engine {
            store: store.clone(),
            clock: clock.clone(),
            exotel: ExotelClient::new(settings.exotel.clone())?,
            pacer: Arc::new(Pacer::per_minute(settings.exotel.calls_per_minute)),
            node_tokens: Arc::new(tokio::sync::Semaphore::new(
                settings.max_concurrent_calls as usize,
            )),
            public_url,
            node_url,
            registry: CallRegistryHandle::start(),
            live_dials: Default::default(),
            drain: Default::default(),
            started_at: clock.now(),
            spool: Spool::new(settings.spool_dir.clone()),
            fallback_audio: FallbackAudio::from_settings(&settings),
            greetings,
            session_mirror: SessionMirror::new(&settings.redis),
            settings: settings.clone(),
        };
        // Loaded before any call can start; what is missing is rendered in the background.
        engine
            .fallback_audio
            .prepare(&startup_playbooks(&settings.playbooks_dir));
        // Before anything is served or dialed: what the last process left behind.
        let recovered = recover(&engine, &engine.spool)
            .await
            .map_err(StartupError::Recovery)?;
        if recovered != Recovered::default() {
            tracing::warn!(?recovered, "recovered calls left by the previous process");
        }
        let campaigns = CampaignSupervisor::new(engine.clone()).start();
        crate::actors::membership::spawn_membership(engine.clone(), campaigns.clone());
        spawn_spool_replay(engine.clone(), campaigns.clone());
        // Past the supervisor while calls remain: a draining node's calls go on for the grace
        // period, and their sessions (and the deletion of their keys) with them.
        let (node, registry) = (campaigns.clone(), engine.registry.clone());
        engine
            .session_mirror
            .spawn_writer(move || node.connected() || !registry.is_empty());
        if let Some(sender) = SenderSettings::from_settings(&settings, &engine.public_url) {
            let node = campaigns.clone();
            spawn_sender(store.clone(), clock.clone(), sender, move || {
                node.connected()
            });
        }
        providers.start_main();
        let state = AppState {
            peers: crate::cluster::Peers::new(&settings),
            providers,
            media_sockets: Arc::new(tokio::sync::Semaphore::new(api::state::media_socket_cap(
                settings.max_concurrent_calls,
            ))),
            playbooks,
            settings,
            store,
            clock,
            engine,
            campaigns,
        };
        let server = run(listener, state.clone()).map_err(|source| StartupError::Bind {
            addr: state.settings.bind_addr.to_string(),
            source,
        })?;
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            state: self.state.clone(),
        }
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// `serve`: runs until SIGTERM/SIGINT, then shuts down gracefully (`StopHandle::drain`).
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let stop = self.stop_handle();
        let grace = Duration::from_secs(u64::from(self.state.settings.shutdown_grace_seconds));
        let signalled = shutdown_signal()?;
        actix_rt::spawn(async move {
            signalled.await;
            stop.drain(grace).await;
        });
        self.server.await
    }
}

fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let workers = state.settings.http_workers;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        // Called on each worker thread as it starts: its own provider pools, warmed now.
        data.providers.start_worker();
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(api::auth::require_api_key))
            .wrap(tracing_actix_web_lite())
            .configure(api::routes)
            .configure(crate::console::routes)
            .default_service(web::to(api::not_found))
    })
    // Signals are ours (`run_until_signalled`): actix-web's own handler would stop after 30 s
    // and drop live media sockets without a close frame or a saved conversation.
    .disable_signals()
    .shutdown_timeout(5);
    let server = match workers {
        Some(n) => server.workers(n),
        None => server,
    };
    let server = server.listen(listener)?.run();
    Ok(server)
}

/// One log line per request: method and path, never the query string (`%r` would write the
/// webhook token and the callers' numbers Exotel puts in `?From=…&token=…`).
fn tracing_actix_web_lite() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new("%{METHOD}xi %U %s %Dms")
        .custom_request_replace("METHOD", |req| req.method().to_string())
        .log_target("http")
}
