//! The spool: a finished call the database would not take, kept as one JSON file per call in
//! `SPOOL_DIR` until it can be saved. Written atomically (a temporary file, fsync, rename), so
//! a crash leaves either the whole record or none; a file is removed only after its record is
//! in the database. Replayed at start-up and periodically while running.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{CallStatus, RecordingName};
use crate::scheduling::NextStep;
use crate::store::{AttemptEnd, AttemptRow, ConversationSummary, Store};

/// Everything `Store::finish_answered_call` needs, in a form that outlives the process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpooledCall {
    pub call_sid: String,
    pub scheduled_call_id: i64,
    pub campaign_id: i64,
    pub lead_id: i64,
    pub attempt_number: i64,
    pub answered_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    /// The call-back the lead asked for; `None` means the lead is done.
    pub callback_at: Option<DateTime<Utc>>,
    pub transcript: serde_json::Value,
    pub final_outcome: String,
    pub lead_qualified: Option<bool>,
    pub extracted_data: serde_json::Value,
    /// The call-back asked for does not use one of the lead's attempts.
    #[serde(default)]
    pub free_callback: bool,
    /// The lead asked never to be called again: the save adds the number to the suppression
    /// list, so a spooled opt-out is never lost either.
    #[serde(default)]
    pub opted_out: bool,
    /// When the call ended (the save's `now`).
    pub ended_at: DateTime<Utc>,
    /// No call-back and no attempt left (a machine answered the last attempt): the lead is
    /// EXHAUSTED rather than done.
    #[serde(default)]
    pub exhausted: bool,
    /// The runtime's own recording of the call, if it was finalised before the save.
    #[serde(default)]
    pub recording_file: Option<RecordingName>,
}

impl SpooledCall {
    pub fn new(
        attempt: &AttemptRow,
        end: &AttemptEnd,
        conversation: &ConversationSummary,
        ended_at: DateTime<Utc>,
    ) -> SpooledCall {
        SpooledCall {
            call_sid: attempt.current_call_sid.clone().unwrap_or_default(),
            scheduled_call_id: attempt.scheduled_call_id,
            campaign_id: attempt.campaign_id,
            lead_id: attempt.lead_id,
            attempt_number: attempt.attempt_number,
            answered_at: end.answered_at,
            duration_seconds: end.duration_seconds,
            callback_at: match end.next {
                NextStep::RetryAt(at) => Some(at),
                _ => None,
            },
            transcript: conversation.transcript.clone(),
            final_outcome: conversation.final_outcome.clone(),
            lead_qualified: conversation.lead_qualified,
            extracted_data: conversation.extracted_data.clone(),
            free_callback: conversation.free_callback,
            opted_out: conversation.opted_out,
            ended_at,
            exhausted: end.next == NextStep::Exhausted,
            recording_file: conversation.recording_file.clone(),
        }
    }

    pub fn parts(&self) -> (AttemptRow, AttemptEnd, ConversationSummary) {
        let attempt = AttemptRow {
            scheduled_call_id: self.scheduled_call_id,
            campaign_id: self.campaign_id,
            lead_id: self.lead_id,
            attempt_number: self.attempt_number,
            status: "IN_PROGRESS".into(),
            current_call_sid: Some(self.call_sid.clone()),
            claimed_by: None,
            lease_until: None,
            in_doubt_since: None,
        };
        let end = AttemptEnd {
            status: CallStatus::Completed,
            failure_reason: None,
            answered_at: self.answered_at,
            duration_seconds: self.duration_seconds,
            recording_url: None,
            next: match self.callback_at {
                Some(at) => NextStep::RetryAt(at),
                None if self.exhausted => NextStep::Exhausted,
                None => NextStep::Done,
            },
        };
        let conversation = ConversationSummary {
            transcript: self.transcript.clone(),
            final_outcome: self.final_outcome.clone(),
            lead_qualified: self.lead_qualified,
            extracted_data: self.extracted_data.clone(),
            free_callback: self.free_callback,
            opted_out: self.opted_out,
            recording_file: self.recording_file.clone(),
        };
        (attempt, end, conversation)
    }

    pub async fn save(&self, store: &Store) -> Result<(), crate::store::StoreError> {
        let (attempt, end, conversation) = self.parts();
        store
            .finish_answered_call(&attempt, &end, &conversation, self.ended_at)
            .await
    }
}

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// What one replay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    pub saved: usize,
    /// Still in the spool: the database refused them again (tried at the next replay).
    pub left: usize,
    /// Files that are not a spooled call (kept, never deleted, for an operator to look at).
    pub unreadable: usize,
}

impl Spool {
    pub fn new(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one call's record; the file appears whole or not at all.
    pub fn write(&self, call: &SpooledCall) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let name = format!(
            "call-{}-{}.json",
            call.scheduled_call_id,
            call.call_sid
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        );
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&serde_json::to_vec_pretty(call)?)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        // The rename itself must survive a power cut.
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(path)
    }

    /// Every spooled call, oldest file name first; unreadable files are counted, not returned.
    pub fn pending(&self) -> (Vec<(PathBuf, SpooledCall)>, usize) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (Vec::new(), 0);
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("call-"))
            })
            .collect();
        paths.sort();
        let mut calls = Vec::new();
        let mut unreadable = 0;
        for path in paths {
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(call) => calls.push((path, call)),
                Err(error) => {
                    unreadable += 1;
                    tracing::error!(path = %path.display(), %error, "unreadable spool file kept");
                }
            }
        }
        (calls, unreadable)
    }

    /// Saves every spooled call the database takes now and removes its file.
    pub async fn replay(&self, store: &Store) -> Replayed {
        let (calls, unreadable) = self.pending();
        let mut done = Replayed {
            unreadable,
            ..Replayed::default()
        };
        for (path, call) in calls {
            match call.save(store).await {
                Ok(()) => {
                    if let Err(error) = std::fs::remove_file(&path) {
                        // Saving twice is harmless (the save is idempotent); keep going.
                        tracing::warn!(path = %path.display(), %error, "could not remove a replayed spool file");
                    }
                    tracing::info!(call_sid = %call.call_sid, "spooled conversation saved");
                    done.saved += 1;
                }
                Err(error) => {
                    tracing::warn!(call_sid = %call.call_sid, %error, "spooled conversation still not saved");
                    done.left += 1;
                }
            }
        }
        done
    }

    /// Call sids waiting in the spool (their calls are not crash victims: their record exists).
    pub fn call_sids(&self) -> Vec<String> {
        self.pending()
            .0
            .into_iter()
            .map(|(_, c)| c.call_sid)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SpooledCall {
        SpooledCall {
            call_sid: "CA/../x1".into(),
            scheduled_call_id: 7,
            campaign_id: 1,
            lead_id: 3,
            attempt_number: 2,
            answered_at: Some(Utc::now()),
            duration_seconds: Some(42),
            callback_at: None,
            transcript: serde_json::json!([{"speaker": "ai", "text": "hi"}]),
            final_outcome: "qualified".into(),
            lead_qualified: Some(true),
            extracted_data: serde_json::json!({"budget": "80 lakh"}),
            free_callback: false,
            opted_out: true,
            ended_at: Utc::now(),
            exhausted: false,
            recording_file: RecordingName::for_call("CAx1"),
        }
    }

    #[test]
    fn a_written_call_reads_back_whole_and_stays_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"));
        let call = sample();
        let path = spool.write(&call).unwrap();
        assert_eq!(path.parent().unwrap(), spool.dir());
        assert_eq!(path.file_name().unwrap(), "call-7-CAx1.json");
        let (calls, unreadable) = spool.pending();
        assert_eq!(unreadable, 0);
        assert_eq!(calls, vec![(path, call)]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(spool.dir()).unwrap().count(), 1);
    }

    #[test]
    fn garbage_in_the_directory_is_counted_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        std::fs::write(dir.path().join("call-1-x.json"), b"{not json").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
        let (calls, unreadable) = spool.pending();
        assert!(calls.is_empty());
        assert_eq!(unreadable, 1);
        assert!(dir.path().join("call-1-x.json").exists());
    }

    #[test]
    fn a_missing_directory_is_an_empty_spool() {
        let spool = Spool::new("/nonexistent/voice-runtime-spool");
        assert_eq!(spool.pending().0.len(), 0);
    }
}
