//! How a receiver knows an event is ours and fresh: `X-Voice-Runtime-Signature:
//! t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with OUTBOUND_WEBHOOK_SECRET>`
//! (the scheme Stripe uses: the time inside the signed text stops replays of old events).

use crate::signing::{hmac_hex, same_tag};

pub const HEADER: &str = "X-Voice-Runtime-Signature";

/// The header's value for `body` sent at `unix_seconds`.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!("t={unix_seconds},v1={}", tag(secret, unix_seconds, body))
}

fn tag(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let t = unix_seconds.to_string();
    hmac_hex(secret.as_bytes(), &[t.as_bytes(), b".", body], 32)
}

/// What a receiver does: the header parses, the tag matches, and it is at most
/// `tolerance_seconds` old at `now`. (Used by our tests; the README shows the same in prose.)
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_seconds: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let expected = tag(secret, t, body);
    // Constant time: a receiver's check must not leak the tag byte by byte.
    let same = same_tag(&expected, v1);
    same && (now - t).abs() <= tolerance_seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let secret = "0123456789abcdef";
        let header = sign(secret, 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify(secret, &header, b"{\"a\":1}", 1_700_000_100, 300));
        assert!(!verify(secret, &header, b"{\"a\":2}", 1_700_000_100, 300));
        assert!(!verify(
            "another-secret-16",
            &header,
            b"{\"a\":1}",
            1_700_000_100,
            300
        ));
        assert!(!verify(secret, &header, b"{\"a\":1}", 1_700_001_000, 300));
        assert!(!verify(secret, "v1=abc", b"{\"a\":1}", 1_700_000_000, 300));
    }
}
