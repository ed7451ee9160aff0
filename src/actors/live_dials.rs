//! The dials running in this process, node-wide. Reconciliation never touches a claim whose
//! dial is still running here, however old its lease: its outcome is on its way. Kept in the
//! `Engine` rather than in a campaign actor because dial tasks are detached from the actor, so a
//! restarted actor must still see the dials its predecessor started.

use std::sync::Arc;

use dashmap::DashSet;

#[derive(Clone, Default, Debug)]
pub struct LiveDials(Arc<DashSet<i64>>);

/// Held by a running dial; dropping it (the dial ended, or its task died) removes the entry.
#[derive(Debug)]
pub struct LiveDial {
    dials: LiveDials,
    scheduled_call_id: i64,
}

impl LiveDials {
    /// Records that the dial of this scheduled call runs until the returned guard is dropped.
    pub fn begin(&self, scheduled_call_id: i64) -> LiveDial {
        self.0.insert(scheduled_call_id);
        LiveDial {
            dials: self.clone(),
            scheduled_call_id,
        }
    }

    pub fn contains(&self, scheduled_call_id: i64) -> bool {
        self.0.contains(&scheduled_call_id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for LiveDial {
    fn drop(&mut self) {
        self.dials.0.remove(&self.scheduled_call_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dial_is_live_until_its_guard_drops() {
        let dials = LiveDials::default();
        let guard = dials.begin(7);
        assert!(dials.clone().contains(7));
        drop(guard);
        assert!(!dials.contains(7));
        assert!(dials.is_empty());
    }
}
