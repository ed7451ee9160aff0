//! The recording's writer: one small task per recorded call that owns the file and does every
//! disk operation on tokio's blocking pool (`spawn_blocking`, a thread only for the length of
//! one write), so a slow disk never stalls the arbiter that carries the call's audio, and a
//! thousand recorded calls hold no thread each.
//!
//! The file is created (never over an existing one) with a placeholder header, written chunk by
//! chunk at each chunk's own offset — a chunk the recorder had to drop leaves a hole that reads
//! as silence, so the rest stays in time —, then sized, its header patched and synced.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::wav::{self, HEADER_BYTES};

/// What the recorder hands its writer.
#[derive(Debug)]
pub enum WriterOp {
    /// Interleaved stereo audio, `offset` bytes into the data.
    Audio { offset: u64, bytes: Vec<u8> },
    /// The call is over: `data_len` bytes of audio in all.
    End { data_len: u64 },
}

/// Writes the recording at `path` from `ops` until `End` (or until the recorder is gone
/// without one: what was written is kept); returns the audio's length in bytes.
pub async fn run(path: PathBuf, rate: u32, mut ops: mpsc::Receiver<WriterOp>) -> io::Result<u64> {
    let mut file = blocking(move || {
        // `create_new`: a recording is never written over another one (two sids that clean up
        // to the same name, a replayed socket): the second call goes unrecorded instead.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.write_all(&wav::header(rate, 0))?;
        Ok(file)
    })
    .await?;
    let mut at = 0u64;
    let mut written_end = 0u64;
    let data_len = loop {
        match ops.recv().await {
            Some(WriterOp::Audio { offset, bytes }) => {
                let end = offset + bytes.len() as u64;
                let seek = offset != at;
                file = blocking(move || {
                    if seek {
                        file.seek(SeekFrom::Start(HEADER_BYTES + offset))?;
                    }
                    file.write_all(&bytes)?;
                    Ok(file)
                })
                .await?;
                at = end;
                written_end = written_end.max(end);
            }
            Some(WriterOp::End { data_len }) => break data_len.max(written_end),
            None => break written_end,
        }
    };
    blocking(move || finalise(file, rate, data_len)).await?;
    Ok(data_len)
}

/// Sizes the file to its header (a dropped last chunk is silence too), patches the header and
/// syncs: after this the recording is complete on disk.
fn finalise(mut file: File, rate: u32, data_len: u64) -> io::Result<()> {
    file.set_len(HEADER_BYTES + data_len)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&wav::header(rate, data_len))?;
    file.sync_all()
}

async fn blocking<T, F>(work: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_land_at_their_offsets_and_the_header_is_patched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("CA1.wav");
        let (tx, rx) = mpsc::channel(4);
        let task = tokio::spawn(run(path.clone(), 8000, rx));
        tx.send(WriterOp::Audio {
            offset: 0,
            bytes: vec![1; 8],
        })
        .await
        .unwrap();
        // The chunk at 8..16 was dropped: it reads as silence.
        tx.send(WriterOp::Audio {
            offset: 16,
            bytes: vec![2; 8],
        })
        .await
        .unwrap();
        tx.send(WriterOp::End { data_len: 28 }).await.unwrap();
        assert_eq!(task.await.unwrap().unwrap(), 28);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 28);
        assert_eq!(&bytes[..44], &wav::header(8000, 28));
        let mut data = vec![1; 8];
        data.extend([0; 8]);
        data.extend([2; 8]);
        data.extend([0; 4]);
        assert_eq!(&bytes[44..], &data[..]);
    }

    #[tokio::test]
    async fn an_existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("CA1.wav");
        std::fs::write(&path, b"someone else's").unwrap();
        let (_tx, rx) = mpsc::channel(1);
        assert!(run(path.clone(), 8000, rx).await.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"someone else's");
    }
}
