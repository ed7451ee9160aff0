//! Where a call's recording is: the file the runtime wrote itself (`RECORDINGS_DIR`), and the
//! URL Exotel reported. Both come from outside (a `CallSid`, a status callback), so both are
//! parsed here once and nothing else ever turns them into a path or a redirect.

use serde::{Deserialize, Serialize};

/// The longest call sid kept in a file name; Exotel's are 32 characters.
const MAX_SID_CHARS: usize = 100;
const EXTENSION: &str = ".wav";

/// A recording's file name inside `RECORDINGS_DIR`: `[A-Za-z0-9_-]+\.wav`, never a path.
/// A hostile `CallSid` (`../../etc/passwd`, `a/b`, a NUL) cannot name a file outside the
/// directory, and a stored name is checked again before it is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordingName(String);

impl RecordingName {
    /// The file for a call: its sid with every other character replaced by `_` (Exotel's sids
    /// are hex, so real ones are unchanged). `None` for an empty sid.
    pub fn for_call(call_sid: &str) -> Option<RecordingName> {
        let stem: String = call_sid
            .chars()
            .take(MAX_SID_CHARS)
            .map(|c| if allowed(c) { c } else { '_' })
            .collect();
        (!stem.is_empty()).then(|| RecordingName(format!("{stem}{EXTENSION}")))
    }

    /// A name read back (from the database): accepted only in the form `for_call` makes.
    pub fn parse(stored: &str) -> Option<RecordingName> {
        let stem = stored.strip_suffix(EXTENSION)?;
        let valid =
            !stem.is_empty() && stem.chars().count() <= MAX_SID_CHARS && stem.chars().all(allowed);
        valid.then(|| RecordingName(stored.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RecordingName {
    type Error = String;
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        RecordingName::parse(&stored)
            .ok_or_else(|| format!("{stored:?} is not a recording's file name"))
    }
}

impl From<RecordingName> for String {
    fn from(name: RecordingName) -> String {
        name.0
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A call's recordings as stored: ours (a file) and Exotel's (a URL). Only an `http(s)` URL of
/// Exotel's counts: the sandbox's simulator reports `file://` paths, which are never served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRecording {
    pub ours: Option<RecordingName>,
    pub exotel: Option<url::Url>,
}

impl CallRecording {
    /// From the `recording_file` and `recording_url` columns; anything unreadable is absent.
    pub fn from_columns(file: Option<&str>, url: Option<&str>) -> CallRecording {
        CallRecording {
            ours: file.and_then(RecordingName::parse),
            exotel: url
                .and_then(|u| url::Url::parse(u.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()),
        }
    }

    pub fn exists(&self) -> bool {
        self.ours.is_some() || self.exotel.is_some()
    }

    /// Our URL for the call's recording (relative: `GET /calls/{id}/recording`), when it has one.
    pub fn link(&self, call_id: i64) -> Option<String> {
        self.exists().then(|| path_of(call_id))
    }
}

/// `/calls/{id}/recording`: `id` is the call's id in the exports (`call_id`, the call session).
pub fn path_of(call_id: i64) -> String {
    format!("/calls/{call_id}/recording")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_sid_becomes_a_plain_file_name() {
        let cases = [
            ("CAa1b2c3", Some("CAa1b2c3.wav")),
            ("sandbox-call_7", Some("sandbox-call_7.wav")),
            ("../../etc/passwd", Some("______etc_passwd.wav")),
            ("a/b\\c\0d", Some("a_b_c_d.wav")),
            ("..", Some("__.wav")),
            ("ünï", Some("_n_.wav")),
            ("", None),
        ];
        for (sid, want) in cases {
            let got = RecordingName::for_call(sid);
            assert_eq!(got.as_ref().map(RecordingName::as_str), want, "{sid:?}");
            if let Some(name) = got {
                assert_eq!(RecordingName::parse(name.as_str()), Some(name.clone()));
            }
        }
        let long = "x".repeat(500);
        assert_eq!(RecordingName::for_call(&long).unwrap().as_str().len(), 104);
    }

    #[test]
    fn a_stored_name_that_is_a_path_is_refused() {
        for stored in [
            "../x.wav",
            "/etc/passwd",
            "a/b.wav",
            ".wav",
            "x.wav.exe",
            "x.mp3",
            "x .wav",
            "x\0.wav",
            "",
        ] {
            assert_eq!(RecordingName::parse(stored), None, "{stored:?}");
        }
    }

    #[test]
    fn only_a_web_url_of_exotel_counts() {
        let of = |url: &str| CallRecording::from_columns(None, Some(url));
        assert!(of("https://recordings.exotel.com/a.mp3").exists());
        assert!(of("http://recordings.exotel.com/a.mp3").exists());
        for not in [
            "file:///tmp/x.wav",
            "javascript:alert(1)",
            "not a url",
            "",
            "https://",
        ] {
            assert!(!of(not).exists(), "{not}");
        }
        let ours = CallRecording::from_columns(Some("CA1.wav"), Some("file:///tmp/CA1.wav"));
        assert_eq!(ours.link(7).as_deref(), Some("/calls/7/recording"));
        assert_eq!(CallRecording::default().link(7), None);
    }
}
