//! PCM16 little-endian mono, as Exotel, Deepgram (`linear16`) and ElevenLabs (`pcm_*`) carry it.

use base64::Engine as _;

/// Samples from little-endian bytes; an odd trailing byte is returned for the next chunk.
pub fn pcm_from_bytes(bytes: &[u8]) -> (Vec<i16>, Option<u8>) {
    let samples = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let odd = (bytes.len() % 2 == 1).then(|| bytes[bytes.len() - 1]);
    (samples, odd)
}

pub fn pcm_to_bytes(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

pub fn pcm_to_base64(samples: &[i16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(pcm_to_bytes(samples))
}

/// Why a media payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload is not base64")]
    NotBase64,
    #[error("payload has an odd number of bytes ({0})")]
    OddLength(usize),
}

pub fn pcm_from_base64(payload: &str) -> Result<Vec<i16>, PayloadError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|_| PayloadError::NotBase64)?;
    if bytes.len() % 2 == 1 {
        return Err(PayloadError::OddLength(bytes.len()));
    }
    Ok(pcm_from_bytes(&bytes).0)
}

/// Joins byte chunks that may split a sample (HTTP streams cut anywhere).
#[derive(Debug, Default)]
pub struct PcmAssembler {
    carry: Option<u8>,
}

impl PcmAssembler {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<i16> {
        let mut bytes = Vec::with_capacity(chunk.len() + 1);
        if let Some(b) = self.carry.take() {
            bytes.push(b);
        }
        bytes.extend_from_slice(chunk);
        let (samples, odd) = pcm_from_bytes(&bytes);
        self.carry = odd;
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
}
