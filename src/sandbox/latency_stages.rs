//! Where a turn's time goes: voice-to-voice at the phone (end of the caller's speech → the
//! first agent audio the caller hears), and the server's stages of each answered turn, read
//! from the saved transcript's `latency` (`TurnLatency`). The sandbox summary and `bench`
//! print the same table.

use serde::Serialize;
use serde_json::Value;

use super::run::percentile;

/// p50 / p95 / p99 of one figure, ms.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Spread {
    pub name: &'static str,
    pub samples: usize,
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
}

impl Spread {
    fn of(name: &'static str, mut v: Vec<u64>) -> Spread {
        v.sort_unstable();
        Spread {
            name,
            samples: v.len(),
            p50: percentile(&v, 50.0),
            p95: percentile(&v, 95.0),
            p99: percentile(&v, 99.0),
        }
    }
}

/// The table.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyBreakdown {
    /// Measured at the phone.
    pub voice_to_voice: Spread,
    /// The server's stages, each from the end of the one before (its own clock; "speech
    /// end" is our VAD's estimate).
    pub stages: Vec<Spread>,
    /// The server's whole share: speech end → first frame out.
    pub server: Spread,
    /// Voice-to-voice p50 minus the server's p50: the phone network, the jitter buffer and
    /// the gap between the caller's last word and our VAD's estimate of it.
    pub transport_p50: Option<i64>,
    /// Answered turns whose LLM rounds are known, and those that needed two or more.
    pub turns: usize,
    pub two_round_turns: usize,
    /// Answered turns whose answer was a confirmed speculation.
    pub speculated_turns: usize,
}

/// The stages, as `(name, from, to)` keys of `TurnLatency` (`None` = speech end).
const STAGES: [(&str, Option<&str>, &str); 6] = [
    (
        "endpointing: speech end → final",
        None,
        "final_transcript_ms",
    ),
    (
        "final → LLM request",
        Some("final_transcript_ms"),
        "llm_request_ms",
    ),
    (
        "LLM first token",
        Some("llm_request_ms"),
        "llm_first_token_ms",
    ),
    (
        "first clause complete",
        Some("llm_first_token_ms"),
        "first_clause_ms",
    ),
    (
        "TTS first byte",
        Some("first_clause_ms"),
        "tts_first_byte_ms",
    ),
    (
        "first frame out",
        Some("tts_first_byte_ms"),
        "first_frame_ms",
    ),
];

impl LatencyBreakdown {
    /// From the calls' exports (`/exports/calls/{id}`) and the phone's voice-to-voice samples.
    pub fn from_calls(calls: &[Value], voice_to_voice_ms: Vec<u64>) -> LatencyBreakdown {
        let latencies: Vec<&Value> = calls
            .iter()
            .flat_map(|c| c["transcript"].as_array().into_iter().flatten())
            .map(|t| &t["latency"])
            .filter(|l| l["first_frame_ms"].is_u64())
            .collect();
        let stages = STAGES
            .iter()
            .map(|(name, from, to)| {
                let v = latencies
                    .iter()
                    .filter_map(|l| {
                        let start = match from {
                            Some(key) => l[*key].as_u64()?,
                            None => 0,
                        };
                        Some(l[*to].as_u64()?.saturating_sub(start))
                    })
                    .collect();
                Spread::of(name, v)
            })
            .collect();
        let server = Spread::of(
            "server: speech end → first frame out",
            latencies
                .iter()
                .filter_map(|l| l["first_frame_ms"].as_u64())
                .collect(),
        );
        let voice_to_voice = Spread::of("voice-to-voice at the phone", voice_to_voice_ms);
        let rounds: Vec<u64> = latencies
            .iter()
            .filter_map(|l| l["llm_rounds"].as_u64())
            .collect();
        LatencyBreakdown {
            transport_p50: voice_to_voice
                .p50
                .zip(server.p50)
                .map(|(a, b)| a as i64 - b as i64),
            voice_to_voice,
            stages,
            server,
            turns: rounds.len(),
            two_round_turns: rounds.iter().filter(|r| **r >= 2).count(),
            speculated_turns: latencies.iter().filter(|l| l["speculated"] == true).count(),
        }
    }

    pub fn render(&self, profile: &str) -> String {
        let f = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |x| x.to_string());
        let row = |s: &Spread| {
            format!(
                "  {:<40} {:>6} {:>6} {:>6}   ({} turns)\n",
                s.name,
                f(s.p50),
                f(s.p95),
                f(s.p99),
                s.samples
            )
        };
        let mut out = format!("\nWhere a turn's time goes (profile {profile}), ms:\n");
        out.push_str(&format!(
            "  {:<40} {:>6} {:>6} {:>6}\n",
            "", "p50", "p95", "p99"
        ));
        out.push_str(&row(&self.voice_to_voice));
        for stage in &self.stages {
            out.push_str(&row(stage));
        }
        out.push_str(&row(&self.server));
        out.push_str(&format!(
            "  {:<40} {:>6}\n",
            "transport and phone (p50 difference)",
            self.transport_p50
                .map_or_else(|| "-".to_string(), |x| x.to_string())
        ));
        let share = |n: usize| {
            let pct = if self.turns > 0 {
                100.0 * n as f64 / self.turns as f64
            } else {
                0.0
            };
            format!("{pct:.1}% ({n} of {})", self.turns)
        };
        out.push_str(&format!(
            "  turns that needed two LLM rounds: {}\n",
            share(self.two_round_turns)
        ));
        out.push_str(&format!(
            "  answers asked for before the final (speculation adopted): {}\n",
            share(self.speculated_turns)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_are_the_differences_between_the_saved_times() {
        let turn = |final_ms: u64, rounds: u64| {
            json!({"speaker": "ai", "latency": {
                "final_transcript_ms": final_ms, "llm_request_ms": final_ms + 1,
                "llm_first_token_ms": final_ms + 401, "first_clause_ms": final_ms + 450,
                "tts_first_byte_ms": final_ms + 750, "first_frame_ms": final_ms + 752,
                "llm_rounds": rounds, "speculated": rounds == 1}})
        };
        let calls = vec![json!({"transcript": [
            {"speaker": "user", "text": "yes"},
            turn(400, 1),
            turn(500, 2),
            {"speaker": "ai", "text": "one moment", "latency": null},
        ]})];
        let b = LatencyBreakdown::from_calls(&calls, vec![1300, 1400]);
        let p50 = |i: usize| b.stages[i].p50;
        assert_eq!(p50(0), Some(400));
        assert_eq!(p50(1), Some(1));
        assert_eq!(p50(2), Some(400));
        assert_eq!(p50(3), Some(49));
        assert_eq!(p50(4), Some(300));
        assert_eq!(p50(5), Some(2));
        assert_eq!(b.server.p50, Some(1152));
        assert_eq!(b.transport_p50, Some(1300 - 1152));
        assert_eq!((b.turns, b.two_round_turns), (2, 1));
        let text = b.render("realistic");
        assert!(text.contains("two LLM rounds: 50.0% (1 of 2)"), "{text}");
        assert!(
            text.contains("speculation adopted): 50.0% (1 of 2)"),
            "{text}"
        );
        assert!(text.contains("LLM first token"), "{text}");
    }
}
