//! The hand-over between call actors and the writer: one slot per call, the latest update
//! wins. A call actor never waits on it (a short mutex, no await, no Redis), and however
//! often a call changes between two flushes, one write goes out.

use std::collections::HashMap;

use super::snapshot::SessionSnapshot;

/// What a call last asked of the mirror.
#[derive(Debug)]
pub(super) enum Pending {
    /// Write this session.
    Set(Box<SessionSnapshot>),
    /// The call is over: delete its key.
    Delete,
}

/// The latest `Pending` per call sid, until the writer takes them.
#[derive(Debug)]
pub(super) struct Coalescer {
    slots: HashMap<String, Pending>,
    /// Most calls waiting at once: only reached when the writer is not running, since it
    /// takes every slot each flush. Beyond it, updates of calls not yet waiting are dropped.
    cap: usize,
}

impl Coalescer {
    pub(super) fn new(cap: usize) -> Coalescer {
        Coalescer {
            slots: HashMap::new(),
            cap,
        }
    }

    /// Keeps `update` as the call's latest (replacing an older one); false when it was
    /// dropped because `cap` calls are already waiting.
    pub(super) fn put(&mut self, call_sid: &str, update: Pending) -> bool {
        if let Some(slot) = self.slots.get_mut(call_sid) {
            *slot = update;
            return true;
        }
        if self.slots.len() >= self.cap {
            return false;
        }
        self.slots.insert(call_sid.to_string(), update);
        true
    }

    /// Everything waiting, leaving the slots empty.
    pub(super) fn take(&mut self) -> HashMap<String, Pending> {
        std::mem::take(&mut self.slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_mirror::snapshot::tests::sample;

    #[test]
    fn the_latest_update_per_call_wins() {
        let mut c = Coalescer::new(10);
        for turns in 1..=5 {
            assert!(c.put("CA1", Pending::Set(Box::new(sample("CA1", turns)))));
        }
        assert!(c.put("CA2", Pending::Set(Box::new(sample("CA2", 1)))));
        let taken = c.take();
        assert_eq!(taken.len(), 2, "one write per call however many changes");
        match &taken["CA1"] {
            Pending::Set(s) => assert_eq!(s.transcript_history.len(), 5),
            other => panic!("{other:?}"),
        }
        assert!(c.take().is_empty(), "taken once");
    }

    #[test]
    fn an_end_replaces_the_calls_last_snapshot() {
        let mut c = Coalescer::new(10);
        c.put("CA1", Pending::Set(Box::new(sample("CA1", 3))));
        c.put("CA1", Pending::Delete);
        assert!(matches!(c.take()["CA1"], Pending::Delete));
    }

    #[test]
    fn beyond_the_cap_new_calls_are_dropped_known_ones_still_update() {
        let mut c = Coalescer::new(2);
        assert!(c.put("CA1", Pending::Set(Box::new(sample("CA1", 1)))));
        assert!(c.put("CA2", Pending::Set(Box::new(sample("CA2", 1)))));
        assert!(!c.put("CA3", Pending::Set(Box::new(sample("CA3", 1)))));
        assert!(
            c.put("CA1", Pending::Delete),
            "a waiting call still updates"
        );
        let taken = c.take();
        assert_eq!(taken.len(), 2);
        assert!(!taken.contains_key("CA3"));
    }
}
