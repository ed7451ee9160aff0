//! The unkind knobs as flags (and `FAKE_*` environment variables) of `voice-runtime fakes`.

use std::time::Duration;

use super::{Knobs, ProfileName};

/// A stall: so many milliseconds, or for ever (`None`). A newtype: clap reads an
/// `Option<Option<_>>` field as a flag whose value may be left out, which this is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall(pub Option<Duration>);

/// A stall: milliseconds, or `forever`.
fn stall(value: &str) -> Result<Stall, String> {
    match value {
        "forever" => Ok(Stall(None)),
        ms => ms
            .parse::<u64>()
            .map(|ms| Stall(Some(Duration::from_millis(ms))))
            .map_err(|_| format!("expected milliseconds or `forever`, not {ms:?}")),
    }
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct FakeKnobArgs {
    /// Latency profile: `instant`, or `realistic` (provider figures with jitter and slow
    /// tails; see src/sandbox/fakes/profile.rs).
    #[arg(long, value_enum, env = "FAKE_PROFILE", default_value_t = ProfileName::Instant)]
    pub profile: ProfileName,
    /// LLM: stall after the first token, ms or `forever`.
    #[arg(long, env = "FAKE_LLM_STALL_AFTER_FIRST", value_parser = stall)]
    pub llm_stall_after_first: Option<Stall>,
    /// LLM: end streams without `data: [DONE]`.
    #[arg(long, env = "FAKE_LLM_OMIT_DONE")]
    pub llm_omit_done: bool,
    /// LLM: cut each SSE event inside a multi-byte character (split across reads).
    #[arg(long, env = "FAKE_LLM_ODD_CHUNKS")]
    pub llm_odd_chunks: bool,
    /// TTS: stall after the first audio chunk, ms or `forever`.
    #[arg(long, env = "FAKE_TTS_STALL_AFTER_FIRST", value_parser = stall)]
    pub tts_stall_after_first: Option<Stall>,
    /// TTS: PCM chunks of odd byte length (a sample split across reads).
    #[arg(long, env = "FAKE_TTS_ODD_CHUNKS")]
    pub tts_odd_chunks: bool,
    /// STT: final and `speech_final` this long after the last voiced audio (0 = at once).
    #[arg(long, env = "FAKE_STT_ENDPOINTING_MS", default_value_t = 0)]
    pub stt_endpointing_ms: u64,
    /// STT: first interim this long after speech starts (with endpointing on).
    #[arg(long, env = "FAKE_STT_INTERIM_FIRST_MS", default_value_t = 700)]
    pub stt_interim_first_ms: u64,
    /// STT: at most one interim per this much audio (with endpointing on).
    #[arg(long, env = "FAKE_STT_INTERIM_EVERY_MS", default_value_t = 400)]
    pub stt_interim_every_ms: u64,
    /// STT: `UtteranceEnd` this long after the final's silence began (with endpointing on).
    #[arg(long, env = "FAKE_STT_UTTERANCE_END_MS", default_value_t = 1000)]
    pub stt_utterance_end_ms: u64,
}

impl FakeKnobArgs {
    pub fn apply(&self, deepgram: &Knobs, openai: &Knobs, elevenlabs: &Knobs) {
        for knobs in [deepgram, openai, elevenlabs] {
            knobs.profile(self.profile);
        }
        if let Some(Stall(s)) = self.llm_stall_after_first {
            openai.stall_after_first(s);
        }
        openai
            .omit_done(self.llm_omit_done)
            .odd_chunks(self.llm_odd_chunks);
        if let Some(Stall(s)) = self.tts_stall_after_first {
            elevenlabs.stall_after_first(s);
        }
        elevenlabs.odd_chunks(self.tts_odd_chunks);
        deepgram.endpointing(
            self.stt_endpointing_ms,
            self.stt_interim_first_ms,
            self.stt_interim_every_ms,
            self.stt_utterance_end_ms,
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        knobs: FakeKnobArgs,
    }

    /// Every unkind knob can be set from the command line of `voice-runtime fakes`.
    #[test]
    fn the_flags_reach_the_fakes() {
        let cli = Cli::try_parse_from([
            "fakes",
            "--llm-stall-after-first",
            "forever",
            "--llm-omit-done",
            "--llm-odd-chunks",
            "--tts-stall-after-first",
            "1500",
            "--tts-odd-chunks",
            "--stt-endpointing-ms",
            "800",
            "--stt-interim-first-ms",
            "900",
        ])
        .unwrap();
        let (deepgram, openai, elevenlabs) = (Knobs::default(), Knobs::default(), Knobs::default());
        cli.knobs.apply(&deepgram, &openai, &elevenlabs);
        assert_eq!(openai.stall(), Some(None));
        assert!(openai.omits_done() && openai.cuts_odd_chunks());
        assert_eq!(elevenlabs.stall(), Some(Some(Duration::from_millis(1500))));
        assert!(elevenlabs.cuts_odd_chunks());
        assert_eq!(deepgram.endpointing_ms(), (800, 900, 400, 1000));

        let err = Cli::try_parse_from(["fakes", "--tts-stall-after-first", "soon"]).unwrap_err();
        assert!(err.to_string().contains("forever"), "{err}");
    }
}
