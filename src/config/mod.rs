//! Configuration: one typed struct read from the environment (and `.env`).
//!
//! Every variable and default comes from `shared/specs/config.md`; an invalid value stops start-up
//! with one line that names the variable (`ConfigError`'s `Display`).

mod calling_days;
mod database_url;

pub use calling_days::CallingDays;
pub use database_url::DatabaseUrl;

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono_tz::Tz;

/// A setting that could not be used, naming the variable so an operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

/// How Exotel connects an answered call to us (`EXOTEL_CONNECT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectMode {
    /// Connect the lead to an Exotel flow whose Voicebot applet asks `/exotel/voicebot-url`.
    Flow,
    /// Give Exotel our media socket URL directly (`StreamUrl`).
    Direct,
}

/// Credentials and endpoints of the Exotel REST API.
#[derive(Debug, Clone)]
pub struct ExotelSettings {
    pub account_sid: Option<String>,
    pub api_key: Option<String>,
    pub api_token: Option<String>,
    pub base_url: String,
    pub virtual_number: Option<String>,
    pub connect_mode: ConnectMode,
    pub calls_per_minute: u32,
    pub ring_timeout_seconds: u32,
    pub exophlo_id: Option<String>,
}

/// One streaming provider: its key (absent = not configured), endpoint and model/voice.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub api_key: Option<String>,
    pub base_url: String,
    pub model: String,
    /// ElevenLabs only: the voice to speak with.
    pub voice_id: Option<String>,
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
}

/// Log output style (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything the runtime reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind_addr: SocketAddr,
    /// Public URL Exotel reaches us at; `None` means "the address we are bound to" (resolved at
    /// start, so a server on port 0 still gives Exotel a working URL).
    pub our_base_url: Option<String>,
    /// Names this process in dial claims (`claimed_by`): a restarted node recognises its own.
    pub node_id: String,
    /// Bearer token for the REST API; `None` means the API answers loopback clients only.
    pub api_key: Option<String>,
    /// Secret carried in the URLs we hand Exotel; random per start when unset.
    pub webhook_secret: String,
    /// True when `webhook_secret` was generated here, so start-up prints it once.
    pub webhook_secret_generated: bool,
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
    pub scheduler_poll_seconds: u32,
    pub playbooks_dir: String,
    pub redis_url: Option<String>,
    pub log_format: LogFormat,
    /// Largest request body we read (CSV uploads); larger ones get 413 before being read.
    pub max_upload_bytes: usize,
    /// On SIGTERM/SIGINT, how long live calls may go on before each is told time is up.
    pub shutdown_grace_seconds: u32,
    /// Where a conversation is kept when the database will not take it (`SPOOL_DIR`), replayed
    /// at the next start and periodically while running.
    pub spool_dir: std::path::PathBuf,
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
            api_key: env.optional("API_KEY"),
            webhook_secret,
            webhook_secret_generated,
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
                ring_timeout_seconds: env.number("EXOTEL_RING_TIMEOUT_SECONDS", 30, 5..=120)?,
                exophlo_id: env.optional("EXOTEL_EXOPHLO_ID"),
            },
            deepgram: ProviderSettings {
                api_key: env.optional("DEEPGRAM_API_KEY"),
                base_url: env.url("DEEPGRAM_URL", "wss://api.deepgram.com/v1/listen")?,
                model: env.string("DEEPGRAM_MODEL", "nova-2"),
                voice_id: None,
            },
            openai: ProviderSettings {
                api_key: env.optional("OPENAI_API_KEY"),
                base_url: env.url("OPENAI_BASE_URL", "https://api.openai.com/v1")?,
                model: env.string("OPENAI_MODEL", "gpt-4o-mini"),
                voice_id: None,
            },
            elevenlabs: ProviderSettings {
                api_key: env.optional("ELEVENLABS_API_KEY"),
                base_url: env.url("ELEVENLABS_BASE_URL", "https://api.elevenlabs.io")?,
                model: env.string("ELEVENLABS_MODEL", "eleven_flash_v2_5"),
                voice_id: env.optional("ELEVENLABS_VOICE_ID"),
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
            },
            max_concurrent_calls: env.number("MAX_CONCURRENT_CALLS", 10, 1..=100_000)?,
            retry_minute_seconds: env.number("RETRY_MINUTE_SECONDS", 60, 1..=60)?,
            max_call_duration_minutes: env.number("MAX_CALL_DURATION_MINUTES", 10, 1..=240)?,
            scheduler_poll_seconds: env.number("SCHEDULER_POLL_SECONDS", 10, 1..=3600)?,
            playbooks_dir: env.string("PLAYBOOKS_DIR", "playbooks"),
            redis_url: env.optional("REDIS_URL"),
            log_format: match env.string("LOG_FORMAT", "pretty").as_str() {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                _ => return Err(env.error("LOG_FORMAT", "expected pretty or json")),
            },
            max_upload_bytes: env.number("MAX_UPLOAD_MB", 50, 1..=4096)? as usize * 1024 * 1024,
            shutdown_grace_seconds: env.number("SHUTDOWN_GRACE_SECONDS", 120, 0..=3600)?,
            spool_dir: env.string("SPOOL_DIR", "spool").into(),
        })
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
        ConfigError {
            var,
            value: self.0.get(var).cloned().unwrap_or_default(),
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
    fn an_empty_window_is_refused() {
        let err =
            settings(&[("CALLING_HOURS_START", "9"), ("CALLING_HOURS_END", "9")]).unwrap_err();
        assert_eq!(err.var, "CALLING_HOURS_END");
    }
}
