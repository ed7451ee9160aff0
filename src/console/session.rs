//! The console's signed session cookie and its CSRF token, as pure functions of a key and the
//! clock (the middleware in `gate.rs` wires them to requests).
//!
//! The cookie is `<expires unix seconds>.<random nonce>.<HMAC of both>`: stateless, so any
//! node of a cluster accepts it, and changing `API_KEY` signs every operator out. A form's CSRF
//! token is an HMAC of the session's nonce under the same key: a page of another site can
//! neither read it nor compute it.

use std::sync::OnceLock;

use crate::signing::{hmac_hex, same_tag};

/// The cookie's name.
pub const COOKIE: &str = "voice_console";
/// How long a sign-in lasts: a working day.
pub const LIFETIME_SECONDS: i64 = 12 * 3600;
/// Separates what we sign from other uses of the same secret (call tokens, webhooks).
const DOMAIN: &[u8] = b"voice-runtime/console-session/v1|";
const CSRF_DOMAIN: &[u8] = b"voice-runtime/console-csrf/v1|";

/// One signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Random per sign-in; what the CSRF token is made from.
    pub nonce: String,
    /// Unix seconds after which the cookie is refused.
    pub expires: i64,
}

/// The key that signs sessions: derived from `API_KEY` (so every node of a cluster agrees),
/// or, with no key (loopback development), random for this process.
pub fn key(api_key: Option<&str>) -> Vec<u8> {
    static PROCESS_KEY: OnceLock<Vec<u8>> = OnceLock::new();
    match api_key {
        Some(api_key) => hmac_hex(api_key.as_bytes(), &[b"console-session-key"], 32).into_bytes(),
        None => PROCESS_KEY
            .get_or_init(|| rand::random::<[u8; 32]>().to_vec())
            .clone(),
    }
}

/// A new session starting at `now` (unix seconds).
pub fn start(now: i64) -> Session {
    let nonce: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Session {
        nonce,
        expires: now + LIFETIME_SECONDS,
    }
}

/// The cookie's value for `session`.
pub fn encode(key: &[u8], session: &Session) -> String {
    let body = format!("{}.{}", session.expires, session.nonce);
    let tag = hmac_hex(key, &[DOMAIN, body.as_bytes()], 32);
    format!("{body}.{tag}")
}

/// The session a cookie holds, if we signed it and it has not expired at `now`.
pub fn decode(key: &[u8], cookie: &str, now: i64) -> Option<Session> {
    let (body, tag) = cookie.rsplit_once('.')?;
    if !same_tag(&hmac_hex(key, &[DOMAIN, body.as_bytes()], 32), tag) {
        return None;
    }
    let (expires, nonce) = body.split_once('.')?;
    let expires: i64 = expires.parse().ok()?;
    (now < expires).then(|| Session {
        nonce: nonce.to_string(),
        expires,
    })
}

/// The token every state-changing form of this session carries.
pub fn csrf_token(key: &[u8], session: &Session) -> String {
    hmac_hex(key, &[CSRF_DOMAIN, session.nonce.as_bytes()], 16)
}

/// Whether `presented` is this session's CSRF token.
pub fn csrf_ok(key: &[u8], session: &Session, presented: &str) -> bool {
    same_tag(&csrf_token(key, session), presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_cookie_round_trips_until_it_expires() {
        let session = start(1_000);
        let cookie = encode(KEY, &session);
        assert_eq!(decode(KEY, &cookie, 1_001), Some(session.clone()));
        assert_eq!(decode(KEY, &cookie, session.expires), None);
    }

    #[test]
    fn tampered_or_foreign_cookies_are_refused() {
        let session = start(1_000);
        let cookie = encode(KEY, &session);
        let longer = cookie.replacen(&session.expires.to_string(), "99999999999", 1);
        let cases = [
            ("another key", decode(b"another key", &cookie, 1_001)),
            ("extended expiry", decode(KEY, &longer, 1_001)),
            ("no tag", decode(KEY, "99999999999.abc", 1_001)),
            ("empty", decode(KEY, "", 1_001)),
            ("garbage", decode(KEY, "a.b.c.d", 1_001)),
        ];
        for (case, decoded) in cases {
            assert_eq!(decoded, None, "{case}");
        }
    }

    #[test]
    fn csrf_tokens_are_per_session() {
        let one = start(0);
        let two = start(0);
        let token = csrf_token(KEY, &one);
        assert!(csrf_ok(KEY, &one, &token));
        assert!(!csrf_ok(KEY, &two, &token));
        assert!(!csrf_ok(KEY, &one, ""));
    }

    #[test]
    fn keys_follow_the_api_key() {
        assert_eq!(key(Some("k1")), key(Some("k1")));
        assert_ne!(key(Some("k1")), key(Some("k2")));
        assert_eq!(key(None), key(None), "one random key per process");
        assert_ne!(key(None), key(Some("k1")));
    }
}
