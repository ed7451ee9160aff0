//! `DATABASE_URL`: which backend, parsed once so the rest of the code never sniffs strings.

/// A database location the store can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://file.db?mode=rwc` or `sqlite::memory:`: the embedded default.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`: production.
    Postgres(String),
}

impl DatabaseUrl {
    pub const DEFAULT: &'static str = "sqlite://voiceai.db?mode=rwc";

    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("sqlite:") {
            return Ok(DatabaseUrl::Sqlite(raw.to_string()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        Err("expected sqlite://FILE or postgres://USER@HOST/DB".into())
    }

    /// The URL with any password replaced, safe to log.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(url) => url.clone(),
            DatabaseUrl::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut url) if url.password().is_some() => {
                    let _ = url.set_password(Some("***"));
                    url.to_string()
                }
                _ => raw.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_recognised() {
        assert!(matches!(
            DatabaseUrl::parse("sqlite::memory:"),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u:p@localhost/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("postgres://[bad").is_err());
        assert!(DatabaseUrl::parse("voiceai.db").is_err());
    }

    #[test]
    fn passwords_are_not_logged() {
        let url = DatabaseUrl::parse("postgres://app:secret@db/voice").unwrap();
        assert!(!url.redacted().contains("secret"));
    }
}
