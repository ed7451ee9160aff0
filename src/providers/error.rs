//! One error type for every AI provider (Deepgram, OpenAI, ElevenLabs): what went wrong, in
//! the terms the call needs to decide — retry now, retry later, or stop the campaign.

use std::fmt;
use std::time::Duration;

/// Which provider failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Deepgram,
    OpenAi,
    ElevenLabs,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Deepgram => "deepgram",
            Provider::OpenAi => "openai",
            Provider::ElevenLabs => "elevenlabs",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// 401/403: the key is wrong or revoked. Permanent: retrying burns leads.
    Auth,
    /// 429 (or the provider's own "slow down"), with its `Retry-After` when given.
    RateLimited { retry_after: Option<Duration> },
    /// The account's quota or credits are spent (OpenAI `insufficient_quota`, ElevenLabs
    /// `quota_exceeded`, Deepgram 402). Permanent until someone pays.
    Quota,
    /// 5xx, a reset connection, a refused connection: try again.
    Transient,
    /// A deadline passed: connect, first byte, idle gap between chunks, or the whole stream.
    Timeout,
    /// The provider answered something we cannot read (bad JSON, a stream that ended without
    /// its end marker, an unexpected 4xx).
    Protocol,
}

/// A provider failure: who, what kind, and the detail for the logs (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{provider}: {message}")]
pub struct ProviderError {
    pub provider: Provider,
    pub kind: ProviderErrorKind,
    pub message: String,
}

impl ProviderError {
    pub fn new(provider: Provider, kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            provider,
            kind,
            message: message.into(),
        }
    }

    pub fn transient(provider: Provider, message: impl Into<String>) -> Self {
        Self::new(provider, ProviderErrorKind::Transient, message)
    }

    pub fn timeout(provider: Provider, message: impl Into<String>) -> Self {
        Self::new(provider, ProviderErrorKind::Timeout, message)
    }

    pub fn protocol(provider: Provider, message: impl Into<String>) -> Self {
        Self::new(provider, ProviderErrorKind::Protocol, message)
    }

    /// Auth and quota failures do not heal by retrying: the call ends and the campaign pauses.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self.kind,
            ProviderErrorKind::Auth | ProviderErrorKind::Quota
        )
    }

    /// Worth trying again within the same turn.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ProviderErrorKind::RateLimited { .. }
                | ProviderErrorKind::Transient
                | ProviderErrorKind::Timeout
        )
    }

    /// Classifies an HTTP status (and the body's error code, when the provider sends one).
    pub fn from_status(
        provider: Provider,
        status: u16,
        code: Option<&str>,
        retry_after: Option<Duration>,
    ) -> Self {
        let quota_code = code.is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("quota") || c.contains("credit") || c.contains("billing")
        });
        let kind = match status {
            _ if quota_code => ProviderErrorKind::Quota,
            401 | 403 => ProviderErrorKind::Auth,
            402 => ProviderErrorKind::Quota,
            429 => ProviderErrorKind::RateLimited { retry_after },
            408 | 500..=599 => ProviderErrorKind::Transient,
            _ => ProviderErrorKind::Protocol,
        };
        Self::new(provider, kind, format!("HTTP {status}"))
    }
}

/// The error code in a provider's JSON error body: OpenAI `error.code` (or `error.type`),
/// ElevenLabs `detail.status`, Deepgram `err_code`.
pub fn body_code(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = [
        &v["error"]["code"],
        &v["error"]["type"],
        &v["detail"]["status"],
        &v["err_code"],
    ]
    .into_iter()
    .find_map(|c| c.as_str().map(String::from));
    code
}

/// `Retry-After` in seconds (the HTTP-date form is rare from these APIs and is ignored).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

impl ProviderError {
    /// A failed HTTP answer: status, `Retry-After`, and the body's error code. The message
    /// keeps the code and a short piece of the body (providers never echo keys back).
    pub async fn from_response(provider: Provider, response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let retry = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let code = body_code(&body);
        let mut error = Self::from_status(provider, status, code.as_deref(), retry);
        let excerpt: String = body.chars().take(200).collect();
        error.message = match code {
            Some(code) => format!("HTTP {status} {code}: {excerpt}"),
            None => format!("HTTP {status}: {excerpt}"),
        };
        error
    }

    /// A transport failure: a connect or read timeout is `Timeout`, anything else (refused,
    /// reset, closed mid-body) `Transient`.
    pub fn from_transport(provider: Provider, error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            ProviderErrorKind::Timeout
        } else {
            ProviderErrorKind::Transient
        };
        Self::new(provider, kind, error.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        use ProviderErrorKind::*;
        let cases: &[(u16, Option<&str>, ProviderErrorKind, bool)] = &[
            (401, None, Auth, true),
            (403, None, Auth, true),
            (402, None, Quota, true),
            (429, Some("insufficient_quota"), Quota, true),
            (
                429,
                Some("rate_limit_exceeded"),
                RateLimited { retry_after: None },
                false,
            ),
            (500, None, Transient, false),
            (503, None, Transient, false),
            (400, None, Protocol, false),
        ];
        for (status, code, kind, permanent) in cases {
            let e = ProviderError::from_status(Provider::OpenAi, *status, *code, None);
            assert_eq!(e.kind, *kind, "status {status} code {code:?}");
            assert_eq!(e.is_permanent(), *permanent, "status {status}");
        }
    }

    #[test]
    fn body_codes_of_each_provider() {
        let cases = [
            (
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
                Some("insufficient_quota"),
            ),
            (
                r#"{"detail":{"status":"quota_exceeded","message":"no credits"}}"#,
                Some("quota_exceeded"),
            ),
            (r#"{"err_code":"INVALID_AUTH"}"#, Some("INVALID_AUTH")),
            ("upstream connect error", None),
        ];
        for (body, code) in cases {
            assert_eq!(body_code(body).as_deref(), code, "{body}");
        }
        let e = ProviderError::from_status(Provider::ElevenLabs, 401, Some("quota_exceeded"), None);
        assert_eq!(e.kind, ProviderErrorKind::Quota);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    }
}
