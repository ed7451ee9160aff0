//! The WAV header of a recording: RIFF, PCM, two channels, 16 bits. Written first with sizes
//! of 0 (the length is unknown while the call goes on), patched when the file is finalised; a
//! process that dies mid-call leaves a file whose header still says 0 (its audio is there: a
//! tool that trusts the file's length, or a header rewritten from it, recovers it).

/// Bytes before the first sample.
pub const HEADER_BYTES: u64 = 44;
const CHANNELS: u16 = 2;
const BITS: u16 = 16;

/// The 44-byte header for `data_len` bytes of stereo PCM16 at `rate`. A length past what the
/// format can say (4 GiB; 12 hours at 24 kHz) is capped.
pub fn header(rate: u32, data_len: u64) -> [u8; HEADER_BYTES as usize] {
    let data = u32::try_from(data_len)
        .unwrap_or(u32::MAX)
        .min(u32::MAX - 36);
    let block_align = CHANNELS * BITS / 8;
    let mut h = [0u8; HEADER_BYTES as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&CHANNELS.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&BITS.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(h: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
    }

    #[test]
    fn the_header_says_stereo_pcm16_and_its_sizes() {
        let h = header(8000, 32_000);
        assert_eq!(&h[0..4], b"RIFF");
        assert_eq!(u32_at(&h, 4), 36 + 32_000);
        assert_eq!(&h[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([h[22], h[23]]), 2);
        assert_eq!(u32_at(&h, 24), 8000);
        assert_eq!(u32_at(&h, 28), 32_000, "bytes per second");
        assert_eq!(u16::from_le_bytes([h[32], h[33]]), 4, "block align");
        assert_eq!(u16::from_le_bytes([h[34], h[35]]), 16);
        assert_eq!(&h[36..40], b"data");
        assert_eq!(u32_at(&h, 40), 32_000);
    }

    #[test]
    fn the_placeholder_says_zero_and_a_huge_length_is_capped() {
        assert_eq!(u32_at(&header(16_000, 0), 40), 0);
        assert_eq!(u32_at(&header(16_000, 0), 4), 36);
        let h = header(24_000, 1 << 40);
        assert_eq!(u32_at(&h, 4), u32::MAX);
        assert_eq!(u32_at(&h, 40), u32::MAX - 36);
    }
}
