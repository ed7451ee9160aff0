//! The session mirror's settings: `REDIS_URL`, `REDIS_SESSION_TTL_SECONDS`, `REDIS_KEY_PREFIX`.

use super::{ConfigError, Env};

/// Where live calls' sessions are mirrored (`session:{call_sid}`), if anywhere. `Debug` shows
/// the URL without its password.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://[user:password@]host[:port][/db]`; `None` = no mirror (state stays in the
    /// call actors only, as without Redis).
    pub url: Option<String>,
    /// Each key's time to live. Keys are rewritten as the call changes and refreshed every
    /// third of this while it lasts, so it bounds how long the session of a node that died
    /// (or lost Redis) stays visible, not how long a call may last.
    pub session_ttl_seconds: u32,
    /// Put before every key (`{prefix}session:{call_sid}`): several deployments, or tests,
    /// sharing one Redis keep apart. Empty by default, so outside tools find `session:*`.
    pub key_prefix: String,
}

impl RedisSettings {
    /// A dead node's sessions are gone within two minutes (four node leases by default),
    /// while a Redis restart or a failover of up to that long loses nothing.
    pub const DEFAULT_TTL_SECONDS: u32 = 120;

    pub(super) fn from_env(env: &Env) -> Result<RedisSettings, ConfigError> {
        let url = match env.optional("REDIS_URL") {
            Some(raw) => Some(check_url(&raw).map_err(|reason| env.error("REDIS_URL", reason))?),
            None => None,
        };
        Ok(RedisSettings {
            url,
            session_ttl_seconds: env.number(
                "REDIS_SESSION_TTL_SECONDS",
                Self::DEFAULT_TTL_SECONDS,
                10..=86_400,
            )?,
            key_prefix: env.string("REDIS_KEY_PREFIX", ""),
        })
    }

    /// Where the mirror writes, safe to log: scheme, host, port and database, never the
    /// user or password the URL may carry.
    pub fn redacted_url(&self) -> Option<String> {
        self.url.as_deref().map(redact)
    }
}

/// `redis://` only: this build has no TLS client for `rediss://`, and a typo should stop
/// start-up rather than leave the mirror silently off.
fn check_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "redis" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(raw.to_string()),
        "redis" => Err("expected redis://HOST[:PORT][/DB]".into()),
        "rediss" => Err("rediss:// (TLS) is not supported by this build; use redis://".into()),
        _ => Err("expected redis://HOST[:PORT][/DB]".into()),
    }
}

/// `redis://host:port/db`, credentials left out.
fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(url) => format!(
            "{}://{}:{}{}",
            url.scheme(),
            url.host_str().unwrap_or("?"),
            url.port().unwrap_or(6379),
            url.path()
        ),
        Err(_) => "<unparsable>".into(),
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.redacted_url())
            .field("session_ttl_seconds", &self.session_ttl_seconds)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_logged_without_credentials() {
        assert!(check_url("redis://127.0.0.1:6379/2").is_ok());
        assert!(check_url("rediss://cache:6380").is_err());
        assert!(check_url("http://cache").is_err());
        assert!(check_url("cache:6379").is_err());
        assert_eq!(
            redact("redis://user:hunter2@cache.internal:6380/3"),
            "redis://cache.internal:6380/3"
        );
        assert_eq!(redact("redis://:pw@cache"), "redis://cache:6379");
    }
}
