//! Who may use the Exotel-facing entry points (status callbacks, the media socket).
//!
//! Either the shared `WEBHOOK_SECRET` (the flow's static voicebot URL, and URLs minted before
//! per-call tokens existed), which opens any call, or a per-call token (`call_token`) with the
//! call's ids beside it (`?ref=c=…;l=…;s=…;a=…&token=…`), which opens that call only.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::store::AttemptRow;
use crate::telephony::exotel::{call_token, CallRef};

/// What a request's credentials open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorised {
    /// The shared secret: every call.
    AnyCall,
    /// A per-call token: this call and no other.
    OneCall(CallRef),
}

impl Authorised {
    /// Whether an attempt (found by Exotel's call sid) is one these credentials open.
    pub fn opens(&self, attempt: &AttemptRow) -> bool {
        match self {
            Authorised::AnyCall => true,
            Authorised::OneCall(call) => {
                call.scheduled_call_id == attempt.scheduled_call_id
                    && call.campaign_id == attempt.campaign_id
                    && call.lead_id == attempt.lead_id
                    && call.attempt == attempt.attempt_number
            }
        }
    }
}

/// Reads `token` (and `ref`) from the query string.
pub fn authorise(req: &HttpRequest, secret: &str) -> Result<Authorised, ApiError> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let presented = query.get("token").map(String::as_str).unwrap_or("");
    authorise_token(presented, query.get("ref").map(String::as_str), secret)
}

/// The pure part of `authorise`: a presented token, the ids beside it, the secret.
pub fn authorise_token(
    presented: &str,
    call_ids: Option<&str>,
    secret: &str,
) -> Result<Authorised, ApiError> {
    if bool::from(presented.as_bytes().ct_eq(secret.as_bytes())) {
        return Ok(Authorised::AnyCall);
    }
    match call_ids.and_then(CallRef::decode) {
        Some(call) if call_token::verify(secret, &call, presented) => Ok(Authorised::OneCall(call)),
        _ => Err(ApiError::Unauthorized("missing or wrong webhook token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_opens_all_and_a_token_its_call() {
        let x = CallRef {
            campaign_id: 1,
            lead_id: 2,
            scheduled_call_id: 3,
            attempt: 1,
        };
        let token = call_token::mint("s", &x);
        let ids = x.encode();
        assert_eq!(
            authorise_token("s", None, "s").unwrap(),
            Authorised::AnyCall
        );
        assert_eq!(
            authorise_token(&token, Some(&ids), "s").unwrap(),
            Authorised::OneCall(x)
        );
        let y = CallRef {
            scheduled_call_id: 4,
            ..x
        }
        .encode();
        for (presented, ids) in [
            (token.as_str(), Some(y.as_str())),
            (token.as_str(), None),
            ("", Some(ids.as_str())),
            ("guess", Some(ids.as_str())),
        ] {
            assert!(
                authorise_token(presented, ids, "s").is_err(),
                "{presented} {ids:?}"
            );
        }
    }
}
