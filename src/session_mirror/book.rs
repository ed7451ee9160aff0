//! The writer's record of what Redis should hold for this node: every live call's latest
//! session (as JSON), which of them Redis has not seen yet, and which ended calls' keys are
//! still to delete. Pure bookkeeping, so the rules are tested without a server; the writer
//! (`redis_writer`) only sends what `batch` says and reports back.

use std::collections::{HashMap, HashSet};

use super::pending::Pending;
use super::snapshot::SessionSnapshot;

#[derive(Debug)]
pub(super) struct Book {
    prefix: String,
    /// call sid → the session's latest JSON.
    live: HashMap<String, String>,
    /// Live calls whose latest JSON Redis may not have.
    dirty: HashSet<String>,
    /// Ended calls whose key may still be in Redis.
    gone: HashSet<String>,
    /// Most deletions kept during an outage; past it an ended call's key is left to expire.
    gone_cap: usize,
}

/// One pipeline: `SET key json EX ttl` for each of `sets`, `DEL` of `dels`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Batch {
    pub sets: Vec<(String, String)>,
    pub dels: Vec<String>,
}

impl Batch {
    pub(super) fn is_empty(&self) -> bool {
        self.sets.is_empty() && self.dels.is_empty()
    }

    /// Keys written or deleted (what `voice_session_mirror_writes_total` counts).
    pub(super) fn keys(&self) -> u64 {
        (self.sets.len() + self.dels.len()) as u64
    }
}

impl Book {
    pub(super) fn new(prefix: &str, gone_cap: usize) -> Book {
        Book {
            prefix: prefix.to_string(),
            live: HashMap::new(),
            dirty: HashSet::new(),
            gone: HashSet::new(),
            gone_cap,
        }
    }

    /// Takes the calls' latest updates in; returns how many had to be dropped.
    pub(super) fn absorb(&mut self, updates: HashMap<String, Pending>) -> u64 {
        let mut dropped = 0;
        for (call_sid, update) in updates {
            match update {
                Pending::Set(snapshot) => match serde_json::to_string(&snapshot) {
                    Ok(json) => {
                        self.gone.remove(&call_sid);
                        self.dirty.insert(call_sid.clone());
                        self.live.insert(call_sid, json);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "session snapshot not serialisable");
                        dropped += 1;
                    }
                },
                Pending::Delete => {
                    self.dirty.remove(&call_sid);
                    // Only a key we wrote (or meant to) needs deleting: a second end is a no-op.
                    if self.live.remove(&call_sid).is_none() {
                        continue;
                    }
                    if self.gone.len() >= self.gone_cap {
                        dropped += 1;
                    } else {
                        self.gone.insert(call_sid);
                    }
                }
            }
        }
        dropped
    }

    /// What Redis lacks: the changed sessions and the ended calls.
    pub(super) fn batch(&self) -> Batch {
        let key = |sid: &String| SessionSnapshot::key(&self.prefix, sid);
        let mut sets: Vec<(String, String)> = self
            .dirty
            .iter()
            .filter_map(|sid| Some((key(sid), self.live.get(sid)?.clone())))
            .collect();
        let mut dels: Vec<String> = self.gone.iter().map(key).collect();
        // A stable order: easier to read in MONITOR and in tests.
        sets.sort();
        dels.sort();
        Batch { sets, dels }
    }

    /// The last `batch` reached Redis. Only the writer's task touches the book, so nothing
    /// changed between the two.
    pub(super) fn written(&mut self) {
        self.dirty.clear();
        self.gone.clear();
    }

    /// Every live session is written again at the next flush: to renew the keys' TTL while
    /// their calls go on, and after an outage, in case Redis restarted empty.
    pub(super) fn rewrite_all(&mut self) {
        self.dirty = self.live.keys().cloned().collect();
    }

    pub(super) fn live_calls(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_mirror::snapshot::tests::sample;

    fn set(sid: &str, turns: usize) -> (String, Pending) {
        (sid.to_string(), Pending::Set(Box::new(sample(sid, turns))))
    }

    fn updates(items: Vec<(String, Pending)>) -> HashMap<String, Pending> {
        items.into_iter().collect()
    }

    #[test]
    fn changes_are_sent_once_ends_become_deletes() {
        let mut book = Book::new("p:", 10);
        assert_eq!(book.absorb(updates(vec![set("CA1", 1), set("CA2", 1)])), 0);
        let batch = book.batch();
        assert_eq!(
            batch
                .sets
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["p:session:CA1", "p:session:CA2"]
        );
        let json: serde_json::Value = serde_json::from_str(&batch.sets[0].1).unwrap();
        assert_eq!(json["call_sid"], "CA1");
        book.written();
        assert!(book.batch().is_empty(), "nothing changed since");

        book.absorb(updates(vec![set("CA1", 2)]));
        book.absorb(updates(vec![("CA2".into(), Pending::Delete)]));
        let batch = book.batch();
        assert_eq!(batch.sets.len(), 1);
        assert_eq!(batch.dels, ["p:session:CA2"]);
        assert_eq!(batch.keys(), 2);
        book.written();
        assert_eq!(book.live_calls(), 1);

        // A second end of the same call deletes nothing more.
        book.absorb(updates(vec![("CA2".into(), Pending::Delete)]));
        assert!(book.batch().is_empty());
    }

    #[test]
    fn a_failed_batch_is_sent_again_with_what_came_since() {
        let mut book = Book::new("", 10);
        book.absorb(updates(vec![set("CA1", 1), set("CA2", 1)]));
        let _failed = book.batch(); // not `written`: Redis did not take it
        book.absorb(updates(vec![
            set("CA1", 3),
            ("CA2".into(), Pending::Delete),
        ]));
        let batch = book.batch();
        assert_eq!(batch.sets.len(), 1);
        let json: serde_json::Value = serde_json::from_str(&batch.sets[0].1).unwrap();
        assert_eq!(json["transcript_history"].as_array().unwrap().len(), 3);
        assert_eq!(batch.dels, ["session:CA2"]);
    }

    #[test]
    fn rewrite_all_renews_every_live_key() {
        let mut book = Book::new("", 10);
        book.absorb(updates(vec![set("CA1", 1), set("CA2", 1)]));
        book.written();
        book.rewrite_all();
        assert_eq!(book.batch().sets.len(), 2);
    }

    #[test]
    fn deletes_beyond_the_cap_are_dropped_and_counted() {
        let mut book = Book::new("", 1);
        book.absorb(updates(vec![set("CA1", 1), set("CA2", 1)]));
        let ends = updates(vec![
            ("CA1".into(), Pending::Delete),
            ("CA2".into(), Pending::Delete),
        ]);
        assert_eq!(book.absorb(ends), 1, "one kept, one left to its TTL");
        assert_eq!(book.batch().dels.len(), 1);
        assert_eq!(book.live_calls(), 0);
    }
}
