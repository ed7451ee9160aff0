//! Per-call tokens for the URLs we hand Exotel (status callback, media socket).
//!
//! Those URLs pass through Exotel's dashboards, logs and support tickets. With the shared
//! `WEBHOOK_SECRET` in them, one leaked URL would let its holder post status callbacks for,
//! and open the media socket of, every call. Instead each URL carries an HMAC-SHA256 of the
//! call's ids (`CallRef`) under the secret: it proves we minted it for that call and opens
//! nothing else. The secret itself stays accepted (the flow's static voicebot URL holds it,
//! and it is the key that mints tokens anyway).

use crate::signing::{hmac_hex, same_tag};

use super::CallRef;

/// Bytes of the MAC kept in the token: 128 bits, far beyond guessing, and a short URL.
const TOKEN_BYTES: usize = 16;

/// Versioned so a future change of what is signed cannot be confused with this one.
const DOMAIN: &str = "voice-runtime/call-token/v1|";

/// The token for one call, as lowercase hex.
pub fn mint(secret: &str, call: &CallRef) -> String {
    let call = call.encode();
    hmac_hex(
        secret.as_bytes(),
        &[DOMAIN.as_bytes(), call.as_bytes()],
        TOKEN_BYTES,
    )
}

/// Whether `presented` is the token of `call`, compared in constant time.
pub fn verify(secret: &str, call: &CallRef, presented: &str) -> bool {
    same_tag(&mint(secret, call), presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: CallRef = CallRef {
        campaign_id: 1,
        lead_id: 2,
        scheduled_call_id: 3,
        attempt: 1,
    };

    #[test]
    fn a_token_opens_its_own_call_only() {
        let token = mint("s3cret", &X);
        assert_eq!(token.len(), TOKEN_BYTES * 2);
        assert!(verify("s3cret", &X, &token));
        let others = [
            CallRef {
                campaign_id: 9,
                ..X
            },
            CallRef { lead_id: 9, ..X },
            CallRef {
                scheduled_call_id: 9,
                ..X
            },
            CallRef { attempt: 2, ..X },
        ];
        for other in others {
            assert!(!verify("s3cret", &other, &token), "{other:?}");
        }
        assert!(!verify("other-secret", &X, &token));
        assert!(!verify("s3cret", &X, ""));
        assert!(!verify("s3cret", &X, "s3cret"));
        assert!(!verify("s3cret", &X, &token[..30]));
    }
}
