//! Pacing of Exotel API requests: at most N a minute across all campaigns, spread evenly so a
//! burst of claims never trips Exotel's 429.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Hands out request slots at least `interval` apart. Cheap to share (`Arc<Pacer>`).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl Pacer {
    pub fn per_minute(requests: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(60) / requests.max(1),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Reserves the next free slot and returns when it comes. A caller that is cancelled while
    /// waiting leaves its slot unused, which only ever makes the pace slower, never faster.
    pub async fn until_ready(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    fn reserve(&self, now: Instant) -> Instant {
        let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let slot = (*next).max(now);
        *next = slot + self.interval;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let pacer = Pacer::per_minute(200);
        let now = Instant::now();
        let slots: Vec<Instant> = (0..5).map(|_| pacer.reserve(now)).collect();
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(300));
        }
        // 200 requests take a minute, not less.
        let last = (0..195).map(|_| pacer.reserve(now)).last().unwrap();
        assert!(last - slots[0] >= Duration::from_millis(300 * 199));
    }

    #[test]
    fn an_idle_pacer_does_not_bank_slots() {
        let pacer = Pacer::per_minute(60);
        let start = Instant::now();
        pacer.reserve(start);
        let later = start + Duration::from_secs(10);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later), later + Duration::from_secs(1));
    }
}
