//! Building and running the application: zero2prod's `Application::build`, so tests can start
//! the real server on port 0 and production starts it on `BIND_ADDR`.

use std::net::TcpListener;
use std::sync::Arc;

use actix::Actor;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::actors::campaign_supervisor::Shutdown;
use crate::actors::{CallRegistryHandle, CampaignSupervisor, Engine};
use crate::api::{self, AppState};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::conversation::playbook_catalog::PlaybookCatalog;
use crate::scheduling::Pacer;
use crate::store::{Store, StoreError};
use crate::telephony::exotel::{ExotelClient, ExotelError};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not open the database: {0}")]
    Database(#[from] StoreError),
    #[error("could not set up the Exotel client: {0}")]
    Exotel(#[from] ExotelError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
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
        let settings = Arc::new(settings);
        let engine = Engine {
            store: store.clone(),
            clock: clock.clone(),
            exotel: ExotelClient::new(settings.exotel.clone())?,
            pacer: Arc::new(Pacer::per_minute(settings.exotel.calls_per_minute)),
            node_tokens: Arc::new(tokio::sync::Semaphore::new(
                settings.max_concurrent_calls as usize,
            )),
            public_url,
            registry: CallRegistryHandle::start(),
            live_dials: Default::default(),
            settings: settings.clone(),
        };
        let campaigns = CampaignSupervisor::new(engine.clone()).start();
        let state = AppState {
            playbooks: PlaybookCatalog::new(&settings.playbooks_dir),
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
}

fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(api::auth::require_api_key))
            .wrap(tracing_actix_web_lite())
            .configure(api::routes)
            .default_service(web::to(api::not_found))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// One log line per request, at debug level so production logs stay quiet.
fn tracing_actix_web_lite() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new("%r %s %Dms").log_target("http")
}
