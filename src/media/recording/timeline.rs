//! The recording's timeline: the caller (left) and the agent (right) interleaved into one
//! stereo stream, aligned on the inbound stream. Pure: samples in, 16-bit little-endian
//! stereo bytes out; no clock, no IO, tested by table.
//!
//! Exotel streams the caller's audio continuously and in real time, so the count of inbound
//! samples *is* the call's clock: the caller's sample `n` is at time `n / rate`. Agent audio is
//! placed when it is sent: at the inbound "now" (every inbound sample so far), or right after
//! the agent audio already sent, if that has not finished playing by then (Exotel plays what it
//! is sent back to back: the socket sends a little ahead of real time). Where nobody speaks the
//! channel is silence.
//!
//! A frame is final once the caller's audio reaches it (agent audio sent later can only land
//! after "now"), so it is written out at once: what is kept is only the agent audio sent ahead
//! of the caller's stream — normally the socket's 100 ms lead. If the caller's stream stalls
//! while the agent goes on (`max_ahead` exceeded), the caller's missing audio is taken as
//! silence and the timeline moves on, so memory stays bounded whatever the network does.

use std::collections::VecDeque;

/// Bytes per stereo frame: two 16-bit samples.
pub const FRAME_BYTES: usize = 4;

#[derive(Debug)]
pub struct StereoTimeline {
    /// Agent samples sent but not yet reached by the caller's stream: the first plays at "now".
    agent_ahead: VecDeque<i16>,
    /// The most agent audio kept ahead of the caller's stream, in samples.
    max_ahead: usize,
    /// Frames written out so far ("now", in samples since the stream began).
    frames: u64,
}

impl StereoTimeline {
    pub fn new(max_ahead: usize) -> StereoTimeline {
        StereoTimeline {
            agent_ahead: VecDeque::new(),
            max_ahead: max_ahead.max(1),
            frames: 0,
        }
    }

    /// Frames written out so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Agent samples waiting for the caller's stream to reach them.
    pub fn agent_ahead(&self) -> usize {
        self.agent_ahead.len()
    }

    /// Caller audio as it arrives: each sample is written out with the agent's sample at the
    /// same time (or silence).
    pub fn caller(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        out.reserve(pcm.len() * FRAME_BYTES);
        for &left in pcm {
            let right = self.agent_ahead.pop_front().unwrap_or(0);
            push_frame(out, left, right);
        }
        self.frames += pcm.len() as u64;
    }

    /// Agent audio as it is sent: after what was sent before, or now. Writes out frames only
    /// when the caller's stream has stalled (more than `max_ahead` waiting).
    pub fn agent(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        self.agent_ahead.extend(pcm);
        let over = self.agent_ahead.len().saturating_sub(self.max_ahead);
        self.agent_alone(over, out);
    }

    /// Exotel was told to `clear`: the agent audio it had not played yet is dropped, so it is
    /// dropped here too.
    pub fn clear_agent(&mut self) {
        self.agent_ahead.clear();
    }

    /// The end of the call: the agent audio still ahead is written out against silence.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.agent_alone(self.agent_ahead.len(), out);
    }

    /// Writes out `n` frames of agent audio with the caller silent.
    fn agent_alone(&mut self, n: usize, out: &mut Vec<u8>) {
        out.reserve(n * FRAME_BYTES);
        for right in self.agent_ahead.drain(..n) {
            push_frame(out, 0, right);
        }
        self.frames += n as u64;
    }
}

fn push_frame(out: &mut Vec<u8>, left: i16, right: i16) {
    out.extend_from_slice(&left.to_le_bytes());
    out.extend_from_slice(&right.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One input to the timeline.
    #[derive(Clone, Copy)]
    enum Step<'a> {
        Caller(&'a [i16]),
        Agent(&'a [i16]),
        Clear,
        Finish,
    }
    use Step::*;

    /// Runs the steps and returns the (left, right) frames written out.
    fn run(max_ahead: usize, steps: &[Step]) -> Vec<(i16, i16)> {
        let mut t = StereoTimeline::new(max_ahead);
        let mut out = Vec::new();
        for step in steps {
            match *step {
                Caller(pcm) => t.caller(pcm, &mut out),
                Agent(pcm) => t.agent(pcm, &mut out),
                Clear => t.clear_agent(),
                Finish => t.finish(&mut out),
            }
        }
        assert_eq!(out.len() % FRAME_BYTES, 0);
        assert_eq!(t.frames() as usize * FRAME_BYTES, out.len());
        out.chunks_exact(FRAME_BYTES)
            .map(|f| {
                (
                    i16::from_le_bytes([f[0], f[1]]),
                    i16::from_le_bytes([f[2], f[3]]),
                )
            })
            .collect()
    }

    /// One row: what happens, the cap on agent audio kept ahead, and the frames written out.
    struct Case<'a> {
        name: &'a str,
        max_ahead: usize,
        steps: &'a [Step<'a>],
        want: &'a [(i16, i16)],
    }

    #[test]
    fn the_channels_line_up_on_the_callers_stream() {
        let cases = [
            Case {
                name: "caller only: the agent's channel is silence",
                max_ahead: 8,
                steps: &[Caller(&[1, 2, 3]), Caller(&[4]), Finish],
                want: &[(1, 0), (2, 0), (3, 0), (4, 0)],
            },
            Case {
                name: "agent only, before any caller audio: written at the end, from time zero",
                max_ahead: 8,
                steps: &[Agent(&[5, 6]), Finish],
                want: &[(0, 5), (0, 6)],
            },
            Case {
                name: "a burst sent ahead of time plays from now, back to back",
                max_ahead: 8,
                steps: &[
                    Caller(&[1, 1]),
                    Agent(&[7, 8]),
                    Agent(&[9]),
                    Caller(&[2, 2, 2, 2]),
                    Finish,
                ],
                want: &[(1, 0), (1, 0), (2, 7), (2, 8), (2, 9), (2, 0)],
            },
            Case {
                name: "overlap: the caller speaks over the agent, both heard",
                max_ahead: 8,
                steps: &[Agent(&[10, 11, 12]), Caller(&[-1, -2, -3]), Finish],
                want: &[(-1, 10), (-2, 11), (-3, 12)],
            },
            Case {
                name: "agent audio sent after a silence starts then, not after the last burst",
                max_ahead: 8,
                steps: &[
                    Agent(&[3]),
                    Caller(&[1, 1, 1]),
                    Agent(&[4]),
                    Caller(&[1]),
                    Finish,
                ],
                want: &[(1, 3), (1, 0), (1, 0), (1, 4)],
            },
            Case {
                name: "odd frame sizes on both sides",
                max_ahead: 8,
                steps: &[
                    Caller(&[1, 2, 3]),
                    Agent(&[9, 8, 7, 6, 5]),
                    Caller(&[4, 5]),
                    Agent(&[4]),
                    Caller(&[6, 7, 8, 9, 10, 11, 12]),
                    Finish,
                ],
                want: &[
                    (1, 0),
                    (2, 0),
                    (3, 0),
                    (4, 9),
                    (5, 8),
                    (6, 7),
                    (7, 6),
                    (8, 5),
                    (9, 4),
                    (10, 0),
                    (11, 0),
                    (12, 0),
                ],
            },
            Case {
                name: "a clear drops what Exotel had not played yet",
                max_ahead: 8,
                steps: &[
                    Agent(&[1, 2, 3, 4]),
                    Caller(&[5, 5]),
                    Clear,
                    Caller(&[6, 6]),
                    Finish,
                ],
                want: &[(5, 1), (5, 2), (6, 0), (6, 0)],
            },
            Case {
                name: "agent audio left at the end is kept, against silence",
                max_ahead: 8,
                steps: &[Caller(&[1]), Agent(&[2, 3, 4]), Caller(&[5]), Finish],
                want: &[(1, 0), (5, 2), (0, 3), (0, 4)],
            },
            Case {
                name: "a stalled caller stream: past the cap the caller is taken as silent",
                max_ahead: 2,
                steps: &[Caller(&[1]), Agent(&[2, 3, 4, 5]), Caller(&[6, 7]), Finish],
                want: &[(1, 0), (0, 2), (0, 3), (6, 4), (7, 5)],
            },
            Case {
                name: "nothing at all: an empty recording",
                max_ahead: 8,
                steps: &[Finish],
                want: &[],
            },
        ];
        for case in cases {
            assert_eq!(run(case.max_ahead, case.steps), case.want, "{}", case.name);
        }
    }

    #[test]
    fn memory_is_bounded_by_the_cap() {
        let mut t = StereoTimeline::new(160);
        let mut out = Vec::new();
        for _ in 0..1000 {
            t.agent(&[1; 160], &mut out);
            assert!(t.agent_ahead() <= 160);
        }
        assert_eq!(t.frames(), 1000 * 160 - 160);
    }
}
