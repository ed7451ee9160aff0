//! The simulator's book of calls: what was dialed, what each call is doing, how many overlap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::domain::CallStatus;

/// One accepted `Calls/connect.json` request.
#[derive(Debug, Clone)]
pub struct DialRecord {
    pub call_sid: String,
    pub from: String,
    pub custom_field: String,
    pub at: DateTime<Utc>,
}

/// A simulated call's state, as Call Details reports it.
#[derive(Debug, Clone)]
pub struct SimCall {
    pub from: String,
    /// The campaign named in the dial's `CustomField` (`c=<id>`), for per-campaign counts.
    pub campaign: String,
    pub status: CallStatus,
    pub duration_seconds: Option<i64>,
}

#[derive(Default)]
pub struct CallBook {
    pub calls: Mutex<HashMap<String, SimCall>>,
    pub dials: Mutex<Vec<DialRecord>>,
    /// Dials per number, for per-number scripts.
    pub dials_per_number: Mutex<HashMap<String, usize>>,
    /// Calls between acceptance and their end.
    live: AtomicUsize,
    max_live: AtomicUsize,
    /// Live and most-ever-live calls per campaign (`SimCall::campaign`).
    live_by_campaign: Mutex<HashMap<String, (usize, usize)>>,
    /// Wakes held calls when a test releases them.
    release: Notify,
    released: std::sync::atomic::AtomicBool,
    /// Wakes whoever waits for the next accepted dial (the chaos run kills the server there).
    pub accepted: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CallBook {
    /// Records an accepted dial; returns how many times this number was dialed before.
    pub fn accept(&self, record: DialRecord) -> usize {
        let previous = {
            let mut per_number = lock(&self.dials_per_number);
            let n = per_number.entry(record.from.clone()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let campaign = campaign_of(&record.custom_field);
        {
            let mut per_campaign = lock(&self.live_by_campaign);
            let (live, max) = per_campaign.entry(campaign.clone()).or_insert((0, 0));
            *live += 1;
            *max = (*max).max(*live);
        }
        lock(&self.calls).insert(
            record.call_sid.clone(),
            SimCall {
                from: record.from.clone(),
                campaign,
                status: CallStatus::Initiated,
                duration_seconds: None,
            },
        );
        lock(&self.dials).push(record);
        self.accepted.notify_waiters();
        let live = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_live.fetch_max(live, Ordering::SeqCst);
        previous
    }

    pub fn set_status(&self, sid: &str, status: CallStatus, duration: Option<i64>) {
        if let Some(call) = lock(&self.calls).get_mut(sid) {
            let was_live = !call.status.is_terminal();
            call.status = status;
            call.duration_seconds = duration.or(call.duration_seconds);
            if was_live && status.is_terminal() {
                self.live.fetch_sub(1, Ordering::SeqCst);
                if let Some((live, _)) = lock(&self.live_by_campaign).get_mut(&call.campaign) {
                    *live = live.saturating_sub(1);
                }
            }
        }
    }

    /// Ends every held call, now and from now on.
    pub fn release_held(&self) {
        self.released.store(true, Ordering::SeqCst);
        self.release.notify_waiters();
    }

    /// Waits until held calls are released.
    pub async fn held(&self) {
        loop {
            // Registered before the check, so a release between the two is not missed.
            let notified = self.release.notified();
            if self.released.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    pub fn call(&self, sid: &str) -> Option<SimCall> {
        lock(&self.calls).get(sid).cloned()
    }

    pub fn dials(&self) -> Vec<DialRecord> {
        lock(&self.dials).clone()
    }

    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    pub fn max_live(&self) -> usize {
        self.max_live.load(Ordering::SeqCst)
    }

    /// The most calls ever live at once, per campaign.
    pub fn max_live_by_campaign(&self) -> HashMap<String, usize> {
        lock(&self.live_by_campaign)
            .iter()
            .map(|(campaign, (_, max))| (campaign.clone(), *max))
            .collect()
    }
}

/// `c=<id>` of a `CustomField` (`c=1;l=2;s=3;a=1`), or the whole field when it has none.
fn campaign_of(custom_field: &str) -> String {
    custom_field
        .split(';')
        .find_map(|part| part.strip_prefix("c="))
        .unwrap_or(custom_field)
        .to_string()
}
