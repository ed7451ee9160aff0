//! The on-disk cache of rendered lines: one file per line, written atomically (a temporary
//! file, fsync, rename), checked when read. A file that fails the check (truncated, another
//! format, flipped bits) is reported and treated as missing, so the line is rendered again
//! and the file replaced.
//!
//! Format: `VRFALL01`, sample rate (u32 LE), sample count (u32 LE), SHA-256 of the samples'
//! bytes (32 bytes), then the samples (PCM16 LE).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::LineKey;

const MAGIC: &[u8; 8] = b"VRFALL01";
const HEADER: usize = 8 + 4 + 4 + 32;

/// Distinguishes temporary files of concurrent writers in one process.
static WRITES: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

/// Why a cache file was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum LoadError {
    Missing,
    Corrupt(&'static str),
}

impl DiskCache {
    pub fn new(dir: impl Into<PathBuf>) -> DiskCache {
        DiskCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, key: &LineKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The line's samples, if its file is there and whole.
    pub fn load(&self, key: &LineKey) -> Result<Vec<i16>, LoadError> {
        let bytes = match std::fs::read(self.path(key)) {
            Ok(b) => b,
            Err(_) => return Err(LoadError::Missing),
        };
        decode(&bytes, key.sample_rate)
    }

    /// Writes the line atomically: a reader sees the old file, the new one, or none.
    pub fn store(&self, key: &LineKey, pcm: &[i16]) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(key);
        let tmp = self.dir.join(format!(
            ".{}.{}-{}.tmp",
            key.file_name(),
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&encode(pcm, key.sample_rate))?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        // The rename itself must survive a power cut.
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(path)
    }
}

fn encode(pcm: &[i16], rate: u32) -> Vec<u8> {
    let payload: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    out
}

fn decode(bytes: &[u8], rate: u32) -> Result<Vec<i16>, LoadError> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(LoadError::Corrupt("not a fallback line file"));
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if word(8) != rate {
        return Err(LoadError::Corrupt("another sample rate"));
    }
    let samples = word(12) as usize;
    let payload = &bytes[HEADER..];
    if payload.len() != samples * 2 || samples == 0 {
        return Err(LoadError::Corrupt("truncated"));
    }
    if Sha256::digest(payload).as_slice() != &bytes[16..HEADER] {
        return Err(LoadError::Corrupt("checksum mismatch"));
    }
    Ok(payload
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LineKey {
        LineKey {
            text: "Sorry, a problem. Bye!".into(),
            voice: None,
            model: "m".into(),
            language: "en".into(),
            sample_rate: 8000,
        }
    }

    #[test]
    fn a_stored_line_loads_back_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().join("nested"));
        assert_eq!(cache.load(&key()), Err(LoadError::Missing));
        let pcm: Vec<i16> = (0..1000).map(|i| (i * 37 % 2000 - 1000) as i16).collect();
        let path = cache.store(&key(), &pcm).unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str(),
            Some(key().file_name().as_str())
        );
        assert_eq!(cache.load(&key()).unwrap(), pcm);
        // Overwriting is atomic too, and only the final file remains.
        cache.store(&key(), &pcm[..10]).unwrap();
        assert_eq!(cache.load(&key()).unwrap(), &pcm[..10]);
        let names: Vec<String> = std::fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![key().file_name()]);
    }

    #[test]
    fn corrupt_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path());
        let pcm = vec![100i16; 400];
        let path = cache.store(&key(), &pcm).unwrap();
        let good = std::fs::read(&path).unwrap();

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        std::fs::write(&path, &flipped).unwrap();
        assert_eq!(
            cache.load(&key()),
            Err(LoadError::Corrupt("checksum mismatch"))
        );

        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        assert_eq!(cache.load(&key()), Err(LoadError::Corrupt("truncated")));

        std::fs::write(&path, b"RIFF....WAVEfmt").unwrap();
        assert!(matches!(cache.load(&key()), Err(LoadError::Corrupt(_))));

        let mut other_rate = key();
        other_rate.sample_rate = 16000;
        std::fs::write(cache.path(&other_rate), &good).unwrap();
        assert_eq!(
            cache.load(&other_rate),
            Err(LoadError::Corrupt("another sample rate"))
        );
    }
}
