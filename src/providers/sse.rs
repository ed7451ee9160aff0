//! Server-sent events framing: `data:` lines, blank-line separated, `:` comments ignored,
//! CRLF tolerated, events split across network chunks reassembled.
//!
//! Bytes are kept as bytes until an event is complete: a network read may end in the middle
//! of a multi-byte UTF-8 character (₹ is 3 bytes, each Devanagari letter 3), and decoding each
//! read on its own would turn the halves into U+FFFD. An event's end (`\n\n`) is ASCII, so a
//! complete event always holds complete characters.

/// Collects bytes and yields each complete event's data.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(chunk);
        if self.buffer.windows(2).any(|w| w == b"\r\n") {
            self.buffer = normalise_crlf(&self.buffer);
        }
        let mut events = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&block);
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if !data.is_empty() {
                events.push(data.join("\n"));
            }
        }
        events
    }

    /// Bytes received that do not yet make a complete event.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }
}

/// `\r\n` → `\n` (a lone `\r` at the end stays, waiting for its `\n`).
fn normalise_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            p.push(b":1}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n"),
            vec!["{\"a\":1}", "[DONE]"]
        );
        assert_eq!(p.push(b"data: x\ndata: y\n\n"), vec!["x\ny"]);
        // CR and LF in different reads.
        assert!(p.push(b"data: z\r").is_empty());
        assert_eq!(p.push(b"\n\r\n"), vec!["z"]);
    }

    /// Every split point of a stream of multi-byte characters gives back the exact text.
    #[test]
    fn multi_byte_characters_split_at_every_byte() {
        let text = "₹80 लाख का 2BHK — ठीक है?";
        let sse = format!("data: {text}\n\ndata: [DONE]\n\n");
        let bytes = sse.as_bytes();
        for split in 0..=bytes.len() {
            let mut p = SseParser::default();
            let mut events = p.push(&bytes[..split]);
            events.extend(p.push(&bytes[split..]));
            assert_eq!(events, vec![text, "[DONE]"], "split at byte {split}");
        }
        // And one byte per read.
        let mut p = SseParser::default();
        let events: Vec<String> = bytes.iter().flat_map(|b| p.push(&[*b])).collect();
        assert_eq!(events, vec![text, "[DONE]"]);
        assert_eq!(p.pending(), 0);
    }
}
