//! Saving a finished call so that it is never lost: the database is tried again with backoff
//! (it may be busy, restarting or briefly unreachable), and if it stays down the record goes
//! to the spool, to be saved by the next replay. Nothing is ever dropped with only a log line.

use std::time::{Duration, Instant};

use super::spool::{Spool, SpooledCall};
use crate::store::Store;

/// First pause between tries; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// How long a call's end keeps trying before it spools. Short enough that a call's actor (and
/// a shutdown waiting for it) is not held for long; a try itself can take the pool's acquire
/// timeout or SQLite's busy timeout (10 s each), so this is at least two tries.
const RETRY_FOR: Duration = Duration::from_secs(15);

/// Where a finished call ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    Database { tries: u32 },
    Spooled { path: std::path::PathBuf },
}

/// Saves `call`, retrying with backoff, else spools it. Errs only when the spool cannot be
/// written either (disk full, no permission); the caller logs that loudly.
pub async fn save_or_spool(
    store: &Store,
    spool: &Spool,
    call: &SpooledCall,
) -> Result<Saved, std::io::Error> {
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        match call.save(store).await {
            Ok(()) => return Ok(Saved::Database { tries }),
            Err(error) => {
                tracing::warn!(call_sid = %call.call_sid, tries, %error, "could not save the conversation; retrying");
            }
        }
        if started.elapsed() + backoff > RETRY_FOR {
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    let path = spool.write(call)?;
    tracing::error!(call_sid = %call.call_sid, tries, path = %path.display(),
        "the database would not take the conversation; spooled for replay");
    Ok(Saved::Spooled { path })
}
