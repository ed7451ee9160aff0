//! Configuration: one typed struct read from the environment (and `.env`).
//!
//! Every variable and default comes from `shared/specs/config.md`; an invalid value stops start-up
//! with one line that names the variable (`ConfigError`'s `Display`).

mod calling_days;
mod country_codes;
mod database_url;
mod provider_deadlines;
mod redis;

pub use calling_days::CallingDays;
pub use country_codes::AllowedCountryCodes;
pub use database_url::DatabaseUrl;
pub use redis::RedisSettings;

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono_tz::Tz;

use crate::scheduling::RegulatoryHours;

/// A setting that could not be used, naming the variable so an operator can fix it.
/// `value` is what was given, except for secrets (`SECRET_VARS`): start-up errors are printed
/// and shipped to log collectors, so a secret's value is replaced by `<hidden>`.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

/// Variables whose values are credentials (a database URL can hold a password).
pub const SECRET_VARS: [&str; 10] = [
    "API_KEY",
    "WEBHOOK_SECRET",
    "METRICS_TOKEN",
    "EXOTEL_API_KEY",
    "EXOTEL_API_TOKEN",
    "DEEPGRAM_API_KEY",
    "OPENAI_API_KEY",
    "ELEVENLABS_API_KEY",
    "DATABASE_URL",
    "REDIS_URL",
];

/// What `Debug` shows for a secret that is set.
const REDACTED: &str = "<redacted>";

/// How Exotel connects an answered call to us (`EXOTEL_CONNECT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectMode {
    /// Connect the lead to an Exotel flow whose Voicebot applet asks `/exotel/voicebot-url`.
    Flow,
    /// Give Exotel our media socket URL directly (`StreamUrl`).
    Direct,
}

/// Credentials and endpoints of the Exotel REST API. `Debug` redacts the credentials.
#[derive(Clone)]
pub struct ExotelSettings {
    pub account_sid: Option<String>,
    pub api_key: Option<String>,
    pub api_token: Option<String>,
    pub base_url: String,
    pub virtual_number: Option<String>,
    pub connect_mode: ConnectMode,
    /// Dials per minute for the whole cluster (each node also spaces its own requests).
    pub calls_per_minute: u32,
    /// Calls at once for the whole Exotel account, across every node and campaign
    /// (`EXOTEL_MAX_CONCURRENT_CALLS`; Exotel plans cap them); `None` = no cap of ours.
    pub max_concurrent_calls: Option<u32>,
    pub ring_timeout_seconds: u32,
    pub exophlo_id: Option<String>,
    /// Whole-request deadline for Exotel's REST API (`EXOTEL_TIMEOUT_SECONDS`). A dial that
    /// times out after its request was sent is in doubt, never simply sent again.
    pub request_timeout_seconds: u32,
    /// How long after an in-doubt dial its first lookup in Exotel's call list is made
    /// (`EXOTEL_SETTLE_SECONDS`): long enough for a placed call to show up there.
    pub settle_after_seconds: u32,
    /// Agent audio per media message to Exotel (`EXOTEL_OUTBOUND_CHUNK_MS`, 20–200 in steps of
    /// 20; default 100, Exotel's documented minimum chunk at 8 kHz).
    pub outbound_chunk_ms: u32,
}

/// One streaming provider: its key (absent = not configured), endpoint and model/voice.
/// `Debug` redacts the key.
#[derive(Clone)]
pub struct ProviderSettings {
    pub api_key: Option<String>,
    pub base_url: String,
    pub model: String,
    /// ElevenLabs only: the voice to speak with.
    pub voice_id: Option<String>,
    /// Connect, first byte, idle gap and total deadlines of this provider's streams.
    pub deadlines: crate::providers::deadlines::StreamDeadlines,
}

/// The calling rules a new campaign starts with; each campaign may override them.
#[derive(Debug, Clone)]
pub struct CallingDefaults {
    pub hours_start: u32,
    pub hours_end: u32,
    pub timezone: Tz,
    pub days: CallingDays,
    pub max_attempts: u32,
    pub retry_no_answer_minutes: u32,
    pub retry_busy_minutes: u32,
    /// The law's hours under every non-transactional campaign's window (`REGULATORY_HOURS`).
    pub regulatory_hours: RegulatoryHours,
}

/// Log output style (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything the runtime reads from its environment. `Debug` redacts every secret, so a
/// `?settings` in a log line or a panic message leaks nothing.
#[derive(Clone)]
pub struct Settings {
    pub bind_addr: SocketAddr,
    /// Public URL Exotel reaches us at; `None` means "the address we are bound to" (resolved at
    /// start, so a server on port 0 still gives Exotel a working URL).
    pub our_base_url: Option<String>,
    /// Names this process in dial claims (`claimed_by`): a restarted node recognises its own.
    pub node_id: String,
    /// Where the other nodes of a cluster reach this one for the cluster-wide views
    /// (`NODE_URL`); `None` means the address we are bound to (loopback when bound to all).
    pub node_url: Option<String>,
    /// How often this node renews its row in `nodes` (`NODE_HEARTBEAT_SECONDS`).
    pub node_heartbeat_seconds: u32,
    /// How long a node's row stays valid without a heartbeat (`NODE_LEASE_SECONDS`); after it,
    /// the other nodes settle its calls.
    pub node_lease_seconds: u32,
    /// Bearer token for the REST API; `None` means the API answers loopback clients only.
    pub api_key: Option<String>,
    /// A second bearer token that opens `/metrics` only (for a Prometheus scraper).
    pub metrics_token: Option<String>,
    /// `LOG_PII=true` writes phone numbers into logs in full; otherwise they are masked.
    pub log_pii: bool,
    /// Secret carried in the URLs we hand Exotel; random per start when unset.
    pub webhook_secret: String,
    /// True when `webhook_secret` was generated here, so start-up prints it once.
    pub webhook_secret_generated: bool,
    /// `OUTBOUND_WEBHOOK_SECRET`: signs the events POSTed to campaigns' `webhook_url`s (the
    /// receiver holds it to check them; never `WEBHOOK_SECRET`, which opens our own URLs). A
    /// campaign may have a webhook only when it is set.
    pub outbound_webhook_secret: Option<String>,
    /// `OUTBOUND_WEBHOOK_RETRY_SECONDS` (5): the first wait after a failed delivery, doubled
    /// each time up to an hour; `OUTBOUND_WEBHOOK_MAX_ATTEMPTS` (12) attempts in all.
    pub outbound_webhook_retry_seconds: u32,
    pub outbound_webhook_max_attempts: u32,
    /// `OUTBOUND_WEBHOOK_TIMEOUT_SECONDS` (10): how long a receiver has to answer one POST.
    pub outbound_webhook_timeout_seconds: u32,
    pub database_url: DatabaseUrl,
    pub exotel: ExotelSettings,
    pub deepgram: ProviderSettings,
    pub openai: ProviderSettings,
    pub elevenlabs: ProviderSettings,
    pub calling: CallingDefaults,
    pub max_concurrent_calls: u32,
    /// How many seconds a "minute" of retry delay lasts: 60, except in the sandbox, which
    /// shortens retries to seconds.
    pub retry_minute_seconds: u32,
    pub max_call_duration_minutes: u32,
    /// `LATE_FIRST_TOKEN_MS` (default 1500): when the LLM's first token of an answer is this
    /// late, the caller hears the pre-rendered "one moment" line (once per turn).
    pub late_first_token_ms: u32,
    /// `STT_FINALIZE_ON_SILENCE` (1 by default, 0 = off): when our VAD hears the caller stop,
    /// ask Deepgram for the final at once (`Finalize`) instead of waiting for its endpointing.
    pub stt_finalize_on_silence: bool,
    /// `PROVIDER_POOL_WARM` (1 by default, 0 = off): one client per provider for the whole
    /// process, its connection opened at start and kept warm; off, a new client per call.
    pub provider_pool_warm: bool,
    /// `HTTP_WORKERS` (default: the CPUs this process may run on): actix-web worker threads.
    /// Each holds its calls' media sockets and actors and its own provider pools.
    pub http_workers: Option<usize>,
    /// `LLM_SPECULATE` (0 by default, 1 = on): ask the LLM on the caller's words as soon as
    /// our VAD hears them stop, holding its answer until the final transcript confirms them.
    /// Off by default: measured, it cost more than it gained (README, latency levers).
    pub llm_speculate: bool,
    /// `GREETING_AT_DIAL` (1 by default, 0 = off): synthesise each call's greeting while its
    /// phone rings, so its first frame needs no TTS round trip.
    pub greeting_at_dial: bool,
    /// `FALLBACK_AUDIO_REQUIRED` (1 by default, 0 = off): dial a campaign only once its
    /// playbook's fallback lines (apology, "one moment", time up) are rendered, so a caller
    /// always hears a word even when the TTS fails; a TTS that refuses our key pauses the
    /// campaign. Off only where calls never speak (scheduler tests and benches).
    pub fallback_audio_required: bool,
    /// `LLM_SPEAK_WITH_TOOLS` (1 by default, 0 = off): the system prompt asks the model to
    /// speak in the same response as its tool calls (`tools::SPEAK_WITH_TOOLS`).
    pub llm_speak_with_tools: bool,
    pub scheduler_poll_seconds: u32,
    /// When set, a claim (a dial, or a call) whose news is this many seconds old is checked
    /// with Exotel's Call Details, instead of after 2 minutes or the call's time limit plus 2
    /// minutes: the chaos run and tests use a few seconds so that a crash settles quickly.
    pub reconcile_after_seconds: Option<u32>,
    pub playbooks_dir: String,
    /// The session mirror (`REDIS_URL`, `REDIS_SESSION_TTL_SECONDS`, `REDIS_KEY_PREFIX`).
    pub redis: RedisSettings,
    pub log_format: LogFormat,
    /// Largest request body we read (CSV uploads); larger ones get 413 before being read.
    pub max_upload_bytes: usize,
    /// Destinations a lead upload may hold (`ALLOWED_COUNTRY_CODES`).
    pub allowed_country_codes: AllowedCountryCodes,
    /// On SIGTERM/SIGINT, how long live calls may go on before each is told time is up.
    pub shutdown_grace_seconds: u32,
    /// Where a conversation is kept when the database will not take it (`SPOOL_DIR`), replayed
    /// at the next start and periodically while running.
    pub spool_dir: std::path::PathBuf,
    /// Where the pre-rendered fallback lines (apology, "one moment", time-up) are kept
    /// (`FALLBACK_AUDIO_DIR`; by default `fallback_audio` next to `SPOOL_DIR`).
    pub fallback_audio_dir: std::path::PathBuf,
    /// Where the runtime records its calls, one stereo WAV each (`RECORDINGS_DIR`); `None`
    /// records nothing.
    pub recordings_dir: Option<std::path::PathBuf>,
}

impl Settings {
    /// Reads `.env` (if present) and then the process environment; the environment wins.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(iter) = dotenvy::from_path_iter(".env") {
            vars.extend(iter.flatten());
        }
        vars.extend(std::env::vars());
        Self::from_map(&vars)
    }

    /// Builds settings from an explicit map: tests use this instead of mutating the environment.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env(vars);
        let exotel_subdomain = env.string("EXOTEL_SUBDOMAIN", "api.exotel.com");
        let node_heartbeat_seconds = env.number("NODE_HEARTBEAT_SECONDS", 5, 1..=300)?;
        let node_lease_seconds = env.number("NODE_LEASE_SECONDS", 30, 3..=3600)?;
        // One late heartbeat must not make a live node look dead to the others.
        if node_lease_seconds < 2 * node_heartbeat_seconds {
            return Err(ConfigError {
                var: "NODE_LEASE_SECONDS",
                value: node_lease_seconds.to_string(),
                reason: format!(
                    "must be at least twice NODE_HEARTBEAT_SECONDS ({node_heartbeat_seconds})"
                ),
            });
        }
        let hours_start = env.number("CALLING_HOURS_START", 10, 0..=23)?;
        let hours_end = env.number("CALLING_HOURS_END", 19, 1..=24)?;
        if hours_start == hours_end {
            return Err(ConfigError {
                var: "CALLING_HOURS_END",
                value: hours_end.to_string(),
                reason: "must differ from CALLING_HOURS_START (an empty window)".into(),
            });
        }
        let (webhook_secret, webhook_secret_generated) = match env.optional("WEBHOOK_SECRET") {
            Some(secret) => (secret, false),
            None => (random_token(), true),
        };
        Ok(Settings {
            bind_addr: env.parsed("BIND_ADDR", "127.0.0.1:8000", "expected HOST:PORT")?,
            our_base_url: match env.optional("OUR_BASE_URL") {
                Some(_) => Some(env.url("OUR_BASE_URL", "")?),
                None => None,
            },
            node_id: env.optional("NODE_ID").unwrap_or_else(default_node_id),
            node_url: match env.optional("NODE_URL") {
                Some(_) => Some(env.url("NODE_URL", "")?),
                None => None,
            },
            node_heartbeat_seconds,
            node_lease_seconds,
            api_key: env.optional("API_KEY"),
            metrics_token: env.optional("METRICS_TOKEN"),
            log_pii: match env.string("LOG_PII", "false").to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(env.error("LOG_PII", "expected true or false")),
            },
            webhook_secret,
            webhook_secret_generated,
            outbound_webhook_secret: match env.optional("OUTBOUND_WEBHOOK_SECRET") {
                Some(secret) if secret.len() < 16 => {
                    return Err(
                        env.error("OUTBOUND_WEBHOOK_SECRET", "must be at least 16 characters")
                    )
                }
                other => other,
            },
            outbound_webhook_retry_seconds: env.number(
                "OUTBOUND_WEBHOOK_RETRY_SECONDS",
                5,
                1..=3600,
            )?,
            outbound_webhook_max_attempts: env.number(
                "OUTBOUND_WEBHOOK_MAX_ATTEMPTS",
                12,
                1..=100,
            )?,
            outbound_webhook_timeout_seconds: env.number(
                "OUTBOUND_WEBHOOK_TIMEOUT_SECONDS",
                10,
                1..=120,
            )?,
            database_url: DatabaseUrl::parse(&env.string("DATABASE_URL", DatabaseUrl::DEFAULT))
                .map_err(|reason| env.error("DATABASE_URL", reason))?,
            exotel: ExotelSettings {
                account_sid: env.optional("EXOTEL_ACCOUNT_SID"),
                api_key: env.optional("EXOTEL_API_KEY"),
                api_token: env.optional("EXOTEL_API_TOKEN"),
                base_url: env.url("EXOTEL_BASE_URL", &format!("https://{exotel_subdomain}"))?,
                virtual_number: env.optional("EXOTEL_VIRTUAL_NUMBER"),
                connect_mode: match env.string("EXOTEL_CONNECT_MODE", "flow").as_str() {
                    "flow" => ConnectMode::Flow,
                    "direct" => ConnectMode::Direct,
                    _ => return Err(env.error("EXOTEL_CONNECT_MODE", "expected flow or direct")),
                },
                calls_per_minute: env.number("EXOTEL_CALLS_PER_MINUTE", 200, 1..=100_000)?,
                max_concurrent_calls: match env.number(
                    "EXOTEL_MAX_CONCURRENT_CALLS",
                    0,
                    0..=100_000,
                )? {
                    0 => None,
                    cap => Some(cap),
                },
                ring_timeout_seconds: env.number("EXOTEL_RING_TIMEOUT_SECONDS", 30, 5..=120)?,
                exophlo_id: env.optional("EXOTEL_EXOPHLO_ID"),
                request_timeout_seconds: env.number("EXOTEL_TIMEOUT_SECONDS", 15, 1..=120)?,
                settle_after_seconds: env.number("EXOTEL_SETTLE_SECONDS", 60, 1..=3600)?,
                outbound_chunk_ms: match env.number("EXOTEL_OUTBOUND_CHUNK_MS", 100, 20..=200)? {
                    ms if ms % 20 == 0 => ms,
                    _ => {
                        let why = "expected 20 to 200 in steps of 20 (whole 20 ms frames)";
                        return Err(env.error("EXOTEL_OUTBOUND_CHUNK_MS", why));
                    }
                },
            },
            deepgram: ProviderSettings {
                api_key: env.optional("DEEPGRAM_API_KEY"),
                base_url: env.url("DEEPGRAM_URL", "wss://api.deepgram.com/v1/listen")?,
                model: env.string("DEEPGRAM_MODEL", "nova-2"),
                voice_id: None,
                deadlines: provider_deadlines::deepgram(&env)?,
            },
            openai: ProviderSettings {
                api_key: env.optional("OPENAI_API_KEY"),
                base_url: env.url("OPENAI_BASE_URL", "https://api.openai.com/v1")?,
                model: env.string("OPENAI_MODEL", "gpt-4o-mini"),
                voice_id: None,
                deadlines: provider_deadlines::openai(&env)?,
            },
            elevenlabs: ProviderSettings {
                api_key: env.optional("ELEVENLABS_API_KEY"),
                base_url: env.url("ELEVENLABS_BASE_URL", "https://api.elevenlabs.io")?,
                model: env.string("ELEVENLABS_MODEL", "eleven_flash_v2_5"),
                voice_id: env.optional("ELEVENLABS_VOICE_ID"),
                deadlines: provider_deadlines::elevenlabs(&env)?,
            },
            calling: CallingDefaults {
                hours_start,
                hours_end,
                timezone: env.parsed(
                    "CALLING_TIMEZONE",
                    "Asia/Kolkata",
                    "unknown IANA time zone",
                )?,
                days: CallingDays::parse(&env.string("CALLING_DAYS", "Mon-Sat"))
                    .map_err(|reason| env.error("CALLING_DAYS", reason))?,
                max_attempts: env.number("MAX_ATTEMPTS", 3, 1..=20)?,
                retry_no_answer_minutes: env.number("RETRY_NO_ANSWER_MINUTES", 120, 0..=43_200)?,
                retry_busy_minutes: env.number("RETRY_BUSY_MINUTES", 240, 0..=43_200)?,
                regulatory_hours: RegulatoryHours::parse(&env.string("REGULATORY_HOURS", "9-21"))
                    .map_err(|reason| env.error("REGULATORY_HOURS", reason))?,
            },
            max_concurrent_calls: env.number("MAX_CONCURRENT_CALLS", 10, 1..=100_000)?,
            retry_minute_seconds: env.number("RETRY_MINUTE_SECONDS", 60, 1..=60)?,
            max_call_duration_minutes: env.number("MAX_CALL_DURATION_MINUTES", 10, 1..=240)?,
            late_first_token_ms: late_first_token_ms(&env)?,
            stt_finalize_on_silence: env.number("STT_FINALIZE_ON_SILENCE", 1u32, 0..=1)? == 1,
            provider_pool_warm: env.number("PROVIDER_POOL_WARM", 1u32, 0..=1)? == 1,
            http_workers: match env.number("HTTP_WORKERS", 0, 0..=256)? {
                0 => None,
                n => Some(n as usize),
            },
            llm_speculate: env.number("LLM_SPECULATE", 0u32, 0..=1)? == 1,
            greeting_at_dial: env.number("GREETING_AT_DIAL", 1u32, 0..=1)? == 1,
            fallback_audio_required: env.number("FALLBACK_AUDIO_REQUIRED", 1u32, 0..=1)? == 1,
            llm_speak_with_tools: env.number("LLM_SPEAK_WITH_TOOLS", 1u32, 0..=1)? == 1,
            scheduler_poll_seconds: env.number("SCHEDULER_POLL_SECONDS", 10, 1..=3600)?,
            reconcile_after_seconds: match env.optional("RECONCILE_AFTER_SECONDS") {
                Some(_) => Some(env.number("RECONCILE_AFTER_SECONDS", 0, 1..=86_400)?),
                None => None,
            },
            playbooks_dir: env.string("PLAYBOOKS_DIR", "playbooks"),
            redis: RedisSettings::from_env(&env)?,
            log_format: match env.string("LOG_FORMAT", "pretty").as_str() {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                _ => return Err(env.error("LOG_FORMAT", "expected pretty or json")),
            },
            max_upload_bytes: env.number("MAX_UPLOAD_MB", 50, 1..=4096)? as usize * 1024 * 1024,
            allowed_country_codes: AllowedCountryCodes::parse(
                &env.string("ALLOWED_COUNTRY_CODES", "91"),
            )
            .map_err(|reason| env.error("ALLOWED_COUNTRY_CODES", reason))?,
            shutdown_grace_seconds: env.number("SHUTDOWN_GRACE_SECONDS", 120, 0..=3600)?,
            spool_dir: env.string("SPOOL_DIR", "spool").into(),
            fallback_audio_dir: match env.optional("FALLBACK_AUDIO_DIR") {
                Some(dir) => dir.into(),
                // Beside the spool: the node's other local data, so one volume keeps both.
                None => std::path::Path::new(&env.string("SPOOL_DIR", "spool"))
                    .parent()
                    .unwrap_or(std::path::Path::new(""))
                    .join("fallback_audio"),
            },
            recordings_dir: env.optional("RECORDINGS_DIR").map(Into::into),
        })
    }
}

impl Settings {
    /// `serve` refuses to start exposed without its secrets: with a public `OUR_BASE_URL`, a
    /// missing `API_KEY` would leave the API to whoever reaches it (a proxy on this host makes
    /// everyone "loopback"), and a generated `WEBHOOK_SECRET` changes at every restart, so every
    /// call in flight would lose its callbacks and media socket. The sandbox keeps generating one.
    pub fn check_public_exposure(&self) -> Result<(), ConfigError> {
        let Some(base) = &self.our_base_url else {
            return Ok(());
        };
        if is_loopback_url(base) {
            return Ok(());
        }
        let missing = |var: &'static str, why: &str| ConfigError {
            var,
            value: String::new(),
            reason: format!(
                "must be set because OUR_BASE_URL ({base}) is not a loopback address: {why}"
            ),
        };
        if self.api_key.is_none() {
            return Err(missing(
                "API_KEY",
                "without it anyone who reaches the server can run campaigns",
            ));
        }
        if self.webhook_secret_generated {
            return Err(missing(
                "WEBHOOK_SECRET",
                "a secret generated at start changes at every restart and cuts off every call in flight",
            ));
        }
        Ok(())
    }
}

/// `http://localhost:8000`, `http://127.0.0.1`, `http://[::1]`: reachable from this host only.
fn is_loopback_url(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `LATE_FIRST_TOKEN_MS`, which must come before the LLM's first-token deadline
/// (`OPENAI_FIRST_TOKEN_TIMEOUT_MS`, which fails the turn): a "one moment" set later could
/// never play.
fn late_first_token_ms(env: &Env) -> Result<u32, ConfigError> {
    let late = env.number("LATE_FIRST_TOKEN_MS", 1500, 200..=10_000)?;
    let deadline = provider_deadlines::openai(env)?.first_byte;
    if u128::from(late) >= deadline.as_millis() {
        let why = format!(
            "must be below OPENAI_FIRST_TOKEN_TIMEOUT_MS ({} ms), when the turn fails",
            deadline.as_millis()
        );
        return Err(env.error("LATE_FIRST_TOKEN_MS", why));
    }
    Ok(late)
}

/// `Some("<redacted>")` for a secret that is set, `None` for one that is not: whether a
/// credential is configured is useful in a dump, its value never is.
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| REDACTED)
}

impl std::fmt::Debug for ExotelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExotelSettings")
            .field("account_sid", &self.account_sid)
            .field("api_key", &redacted(&self.api_key))
            .field("api_token", &redacted(&self.api_token))
            .field("base_url", &self.base_url)
            .field("virtual_number", &self.virtual_number)
            .field("connect_mode", &self.connect_mode)
            .field("calls_per_minute", &self.calls_per_minute)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("ring_timeout_seconds", &self.ring_timeout_seconds)
            .field("exophlo_id", &self.exophlo_id)
            .field("outbound_chunk_ms", &self.outbound_chunk_ms)
            .finish()
    }
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("api_key", &redacted(&self.api_key))
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("voice_id", &self.voice_id)
            .field("deadlines", &self.deadlines)
            .finish()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind_addr", &self.bind_addr)
            .field("our_base_url", &self.our_base_url)
            .field("node_id", &self.node_id)
            .field("node_url", &self.node_url)
            .field("api_key", &redacted(&self.api_key))
            .field("metrics_token", &redacted(&self.metrics_token))
            .field("log_pii", &self.log_pii)
            .field("webhook_secret", &REDACTED)
            .field("webhook_secret_generated", &self.webhook_secret_generated)
            .field(
                "outbound_webhook_secret",
                &self.outbound_webhook_secret.as_ref().map(|_| REDACTED),
            )
            .field(
                "outbound_webhook_retry_seconds",
                &self.outbound_webhook_retry_seconds,
            )
            .field(
                "outbound_webhook_max_attempts",
                &self.outbound_webhook_max_attempts,
            )
            .field(
                "outbound_webhook_timeout_seconds",
                &self.outbound_webhook_timeout_seconds,
            )
            .field("database_url", &self.database_url.redacted())
            .field("exotel", &self.exotel)
            .field("deepgram", &self.deepgram)
            .field("openai", &self.openai)
            .field("elevenlabs", &self.elevenlabs)
            .field("calling", &self.calling)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("retry_minute_seconds", &self.retry_minute_seconds)
            .field("max_call_duration_minutes", &self.max_call_duration_minutes)
            .field("late_first_token_ms", &self.late_first_token_ms)
            .field("stt_finalize_on_silence", &self.stt_finalize_on_silence)
            .field("provider_pool_warm", &self.provider_pool_warm)
            .field("http_workers", &self.http_workers)
            .field("llm_speculate", &self.llm_speculate)
            .field("greeting_at_dial", &self.greeting_at_dial)
            .field("fallback_audio_required", &self.fallback_audio_required)
            .field("llm_speak_with_tools", &self.llm_speak_with_tools)
            .field("scheduler_poll_seconds", &self.scheduler_poll_seconds)
            .field("playbooks_dir", &self.playbooks_dir)
            .field("redis", &self.redis)
            .field("log_format", &self.log_format)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("recordings_dir", &self.recordings_dir)
            // Fields added later show up only when listed here: better missing than leaked.
            .finish_non_exhaustive()
    }
}

/// The host name, so that a restarted process on the same host reclaims its own dial claims.
fn default_node_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node-1".to_string())
}

/// A random URL-safe token for secrets we generate ourselves.
pub fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Typed reads from the variable map; every failure names its variable.
struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    fn optional(&self, var: &str) -> Option<String> {
        self.0
            .get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn string(&self, var: &str, default: &str) -> String {
        self.optional(var).unwrap_or_else(|| default.to_string())
    }

    fn error(&self, var: &'static str, reason: impl Into<String>) -> ConfigError {
        let value = if SECRET_VARS.contains(&var) {
            "<hidden>".to_string()
        } else {
            self.0.get(var).cloned().unwrap_or_default()
        };
        ConfigError {
            var,
            value,
            reason: reason.into(),
        }
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        var: &'static str,
        default: &str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        self.string(var, default)
            .parse()
            .map_err(|_| self.error(var, expected))
    }

    fn number(
        &self,
        var: &'static str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<u32, ConfigError> {
        let Some(raw) = self.optional(var) else {
            return Ok(default);
        };
        let expected = || {
            format!(
                "expected a whole number in {}..={}",
                range.start(),
                range.end()
            )
        };
        let value: u32 = raw.parse().map_err(|_| self.error(var, expected()))?;
        if !range.contains(&value) {
            return Err(self.error(var, expected()));
        }
        Ok(value)
    }

    fn url(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.string(var, default);
        let parsed = url::Url::parse(&raw).map_err(|e| self.error(var, e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https" | "ws" | "wss") {
            return Err(self.error(var, "expected an http(s) or ws(s) URL"));
        }
        Ok(raw.trim_end_matches('/').to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_map(&map)
    }

    #[test]
    fn defaults_need_no_variables() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8000");
        assert_eq!(s.calling.hours_start, 10);
        assert_eq!(s.calling.hours_end, 19);
        assert_eq!(s.calling.timezone, chrono_tz::Asia::Kolkata);
        assert_eq!(s.exotel.base_url, "https://api.exotel.com");
        assert!(matches!(s.database_url, DatabaseUrl::Sqlite(_)));
        assert!(s.webhook_secret_generated);
        assert_eq!(s.calling.regulatory_hours, RegulatoryHours::INDIA);
        assert_eq!(s.allowed_country_codes.listed(), "+91");
        assert_eq!(s.redis.url, None);
        assert_eq!(s.redis.session_ttl_seconds, 120);
        assert_eq!(s.redis.key_prefix, "");
    }

    /// 0 (the default) leaves actix-web's own choice: the CPUs the process may run on.
    #[test]
    fn http_workers_default_to_the_cpus() {
        assert_eq!(settings(&[]).unwrap().http_workers, None);
        assert_eq!(
            settings(&[("HTTP_WORKERS", "0")]).unwrap().http_workers,
            None
        );
        let three = settings(&[("HTTP_WORKERS", "3")]).unwrap();
        assert_eq!(three.http_workers, Some(3));
    }

    #[test]
    fn subdomain_feeds_the_exotel_base_url() {
        let s = settings(&[("EXOTEL_SUBDOMAIN", "api.in.exotel.com")]).unwrap();
        assert_eq!(s.exotel.base_url, "https://api.in.exotel.com");
    }

    #[test]
    fn errors_name_the_variable() {
        let cases = [
            ("CALLING_HOURS_END", "25"),
            ("CALLING_TIMEZONE", "Mars/Olympus"),
            ("DATABASE_URL", "mysql://x"),
            ("MAX_CONCURRENT_CALLS", "ten"),
            ("CALLING_DAYS", "Funday"),
            ("BIND_ADDR", "nowhere"),
            ("OUR_BASE_URL", "not a url"),
            ("REGULATORY_HOURS", "9-25"),
            ("ALLOWED_COUNTRY_CODES", "india"),
            ("REDIS_URL", "rediss://cache:6380"),
            ("REDIS_SESSION_TTL_SECONDS", "5"),
            ("EXOTEL_OUTBOUND_CHUNK_MS", "50"),
            ("EXOTEL_OUTBOUND_CHUNK_MS", "220"),
            ("HTTP_WORKERS", "257"),
            ("HTTP_WORKERS", "-1"),
        ];
        for (var, value) in cases {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(
                err.to_string().starts_with(&format!("invalid {var}=")),
                "{err}"
            );
        }
    }

    #[test]
    fn one_moment_comes_before_the_first_token_deadline() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.openai.deadlines.first_byte.as_millis(), 3500);
        for (late, deadline) in [("3500", None), ("3000", Some("2000"))] {
            let mut vars = vec![("LATE_FIRST_TOKEN_MS", late)];
            vars.extend(deadline.map(|d| ("OPENAI_FIRST_TOKEN_TIMEOUT_MS", d)));
            let err = settings(&vars).unwrap_err();
            assert_eq!(err.var, "LATE_FIRST_TOKEN_MS", "{err}");
            assert!(
                err.to_string().contains("OPENAI_FIRST_TOKEN_TIMEOUT_MS"),
                "{err}"
            );
        }
        let s = settings(&[
            ("LATE_FIRST_TOKEN_MS", "5000"),
            ("OPENAI_FIRST_TOKEN_TIMEOUT_MS", "8000"),
        ])
        .unwrap();
        assert_eq!(s.late_first_token_ms, 5000);
    }

    #[test]
    fn debug_redacts_every_secret() {
        let secrets = [
            ("API_KEY", "api-key-value"),
            ("WEBHOOK_SECRET", "webhook-secret-value"),
            ("METRICS_TOKEN", "metrics-token-value"),
            ("EXOTEL_API_KEY", "exotel-key-value"),
            ("EXOTEL_API_TOKEN", "exotel-token-value"),
            ("DEEPGRAM_API_KEY", "deepgram-key-value"),
            ("OPENAI_API_KEY", "openai-key-value"),
            ("ELEVENLABS_API_KEY", "elevenlabs-key-value"),
            ("DATABASE_URL", "postgres://app:db-password-value@db/voice"),
            ("REDIS_URL", "redis://:redis-password-value@cache"),
        ];
        let s = settings(&secrets).unwrap();
        let dump = format!("{s:?} {:?} {:?}", s.exotel, s.openai);
        for (var, value) in secrets {
            let needle = value
                .split(['@', ':', '/'])
                .find(|p| p.ends_with("-value"))
                .unwrap();
            assert!(!dump.contains(needle), "{var} leaked in {dump}");
        }
        assert!(dump.contains("<redacted>"));
        assert!(dump.contains("node_id"), "other fields still show");
    }

    #[test]
    fn errors_never_echo_a_secret() {
        let err = settings(&[("DATABASE_URL", "mysql://app:hunter2@db/voice")]).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = settings(&[("REDIS_URL", "rediss://:hunter2@cache")]).unwrap_err();
        assert_eq!(err.var, "REDIS_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = settings(&[("LOG_PII", "maybe")]).unwrap_err();
        assert_eq!(err.var, "LOG_PII");
        assert!(
            err.to_string().contains("maybe"),
            "non-secrets are echoed: {err}"
        );
    }

    #[test]
    fn pii_and_metrics_settings() {
        let s = settings(&[]).unwrap();
        assert!(!s.log_pii);
        assert_eq!(s.metrics_token, None);
        let s = settings(&[("LOG_PII", "true"), ("METRICS_TOKEN", "scrape")]).unwrap();
        assert!(s.log_pii);
        assert_eq!(s.metrics_token.as_deref(), Some("scrape"));
    }

    #[test]
    fn a_public_base_url_needs_both_secrets() {
        let public = ("OUR_BASE_URL", "https://calls.example.com");
        let key = ("API_KEY", "k");
        let secret = ("WEBHOOK_SECRET", "w");
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: [Case; 7] = [
            (&[], None),
            (&[("OUR_BASE_URL", "http://localhost:8000")], None),
            (&[("OUR_BASE_URL", "http://127.0.0.1:8000")], None),
            (&[("OUR_BASE_URL", "http://[::1]:8000")], None),
            (&[public, secret], Some("API_KEY")),
            (&[public, key], Some("WEBHOOK_SECRET")),
            (&[public, key, secret], None),
        ];
        for (vars, refused) in cases {
            let got = settings(vars).unwrap().check_public_exposure().err();
            assert_eq!(got.as_ref().map(|e| e.var), refused, "{vars:?}");
        }
    }

    #[test]
    fn an_empty_window_is_refused() {
        let err =
            settings(&[("CALLING_HOURS_START", "9"), ("CALLING_HOURS_END", "9")]).unwrap_err();
        assert_eq!(err.var, "CALLING_HOURS_END");
    }
}
