//! PCM16 little-endian mono, as Exotel, Deepgram (`linear16`) and ElevenLabs (`pcm_*`) carry it.
//!
//! Samples live as `Vec<i16>` (the VAD, machine detection and the playout read them); on the
//! wire they are the same memory read as little-endian bytes. On a little-endian machine (every
//! one we deploy on) that is a view, not a copy: a caller frame is decoded from base64 straight
//! into its samples and goes to Deepgram as those samples' bytes, and agent audio is encoded to
//! base64 from its samples, with no byte buffer in between.

use std::borrow::Cow;

use base64::Engine as _;
use bytes::Bytes;

/// Samples from little-endian bytes; an odd trailing byte is returned for the next chunk.
pub fn pcm_from_bytes(bytes: &[u8]) -> (Vec<i16>, Option<u8>) {
    let mut pairs = bytes.chunks_exact(2);
    let samples = pairs
        .by_ref()
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (samples, pairs.remainder().first().copied())
}

/// The samples' little-endian bytes, copied.
pub fn pcm_to_bytes(samples: &[i16]) -> Vec<u8> {
    pcm_as_bytes(samples).into_owned()
}

/// The samples' little-endian bytes: a view on a little-endian machine, a copy elsewhere.
pub fn pcm_as_bytes(samples: &[i16]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(samples))
    } else {
        Cow::Owned(samples.iter().flat_map(|s| s.to_le_bytes()).collect())
    }
}

/// The samples as little-endian bytes for a socket; on a little-endian machine the same
/// allocation, not a copy.
pub fn pcm_into_bytes(samples: Vec<i16>) -> Bytes {
    if cfg!(target_endian = "little") {
        Bytes::from_owner(LittleEndianPcm(samples))
    } else {
        Bytes::from(pcm_to_bytes(&samples))
    }
}

/// Samples whose memory is read as their little-endian bytes (only built on such machines).
struct LittleEndianPcm(Vec<i16>);

impl AsRef<[u8]> for LittleEndianPcm {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

pub fn pcm_to_base64(samples: &[i16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(pcm_as_bytes(samples))
}

/// Why a media payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload is not base64")]
    NotBase64,
    #[error("payload has an odd number of bytes ({0})")]
    OddLength(usize),
}

/// A media payload's samples, decoded from base64 straight into them (one allocation).
pub fn pcm_from_base64(payload: &str) -> Result<Vec<i16>, PayloadError> {
    let payload = payload.trim().as_bytes();
    let most = base64::decoded_len_estimate(payload.len());
    let mut samples = vec![0i16; most.div_ceil(2)];
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(payload, bytemuck::cast_slice_mut(&mut samples))
        .map_err(|_| PayloadError::NotBase64)?;
    if len % 2 == 1 {
        return Err(PayloadError::OddLength(len));
    }
    samples.truncate(len / 2);
    if cfg!(target_endian = "big") {
        samples.iter_mut().for_each(|s| *s = i16::from_le(*s));
    }
    Ok(samples)
}

/// Joins byte chunks that may split a sample (HTTP streams cut anywhere).
#[derive(Debug, Default)]
pub struct PcmAssembler {
    carry: Option<u8>,
}

impl PcmAssembler {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<i16> {
        let mut samples = Vec::with_capacity(chunk.len().div_ceil(2));
        let mut rest = chunk;
        if let Some(first) = self.carry.take() {
            match rest.split_first() {
                Some((&second, after)) => {
                    samples.push(i16::from_le_bytes([first, second]));
                    rest = after;
                }
                None => {
                    self.carry = Some(first);
                    return samples;
                }
            }
        }
        let mut pairs = rest.chunks_exact(2);
        samples.extend(pairs.by_ref().map(|b| i16::from_le_bytes([b[0], b[1]])));
        self.carry = pairs.remainder().first().copied();
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_split_samples() {
        let samples = vec![0i16, 1, -1, i16::MAX, i16::MIN, 1234];
        assert_eq!(pcm_from_base64(&pcm_to_base64(&samples)).unwrap(), samples);
        let bytes = pcm_to_bytes(&samples);
        let mut asm = PcmAssembler::default();
        let mut out = asm.push(&bytes[..3]);
        out.extend(asm.push(&bytes[3..8]));
        out.extend(asm.push(&bytes[8..]));
        assert_eq!(out, samples);
        assert_eq!(pcm_from_base64("!!"), Err(PayloadError::NotBase64));
        assert_eq!(pcm_from_base64("AAAA"), Err(PayloadError::OddLength(3)));
    }

    #[test]
    fn bytes_are_little_endian_whichever_the_path() {
        let samples = vec![0x0102i16, -2, 0x7f00];
        let wire = [0x02u8, 0x01, 0xfe, 0xff, 0x00, 0x7f];
        assert_eq!(pcm_to_bytes(&samples), wire);
        assert_eq!(&*pcm_as_bytes(&samples), wire);
        assert_eq!(&pcm_into_bytes(samples.clone())[..], wire);
        assert_eq!(pcm_from_bytes(&wire), (samples.clone(), None));
        assert_eq!(pcm_from_bytes(&wire[..5]).1, Some(0x00));
        let b64 = base64::engine::general_purpose::STANDARD.encode(wire);
        assert_eq!(pcm_to_base64(&samples), b64);
        assert_eq!(pcm_from_base64(&b64).unwrap(), samples);
    }

    #[test]
    fn base64_payloads_of_every_length_and_padding() {
        let engine = &base64::engine::general_purpose::STANDARD;
        for n in 0..40usize {
            let samples: Vec<i16> = (0..n as i16)
                .map(|i| i.wrapping_mul(997).wrapping_sub(300))
                .collect();
            let payload = format!(" {}\n", engine.encode(pcm_to_bytes(&samples)));
            assert_eq!(pcm_from_base64(&payload).unwrap(), samples, "{n} samples");
            let odd = engine.encode(vec![7u8; 2 * n + 1]);
            assert_eq!(
                pcm_from_base64(&odd),
                Err(PayloadError::OddLength(2 * n + 1))
            );
        }
    }

    #[test]
    fn a_stream_cut_anywhere_gives_the_same_samples() {
        let samples: Vec<i16> = (0..50i16)
            .map(|i| i.wrapping_mul(1311).wrapping_sub(20_000))
            .collect();
        let bytes = pcm_to_bytes(&samples);
        for size in 1..8 {
            let mut asm = PcmAssembler::default();
            let out: Vec<i16> = bytes.chunks(size).flat_map(|c| asm.push(c)).collect();
            assert_eq!(out, samples, "chunks of {size} bytes");
        }
    }
}
