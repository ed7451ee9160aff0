//! What the turn-taking core is configured with: the playbook's lines and thresholds, the
//! timings of its rules, and which lines exist pre-rendered.

use std::time::Duration;

use super::restart::RestartPolicy;

/// The lines the core says itself, already rendered for this lead.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    pub greeting: String,
    pub reprompt: String,
    pub not_qualified: String,
    pub time_up: String,
    pub apology: String,
    pub one_moment: String,
    /// Left on a voicemail after the beep; none = just hang up.
    pub voicemail_message: Option<String>,
}

/// Which lines exist as audio already (their length in samples at the call's rate).
#[derive(Debug, Clone, Copy, Default)]
pub struct Prerendered {
    pub apology: Option<usize>,
    pub one_moment: Option<usize>,
    pub time_up: Option<usize>,
}

/// The timings of the rules. `Default` is what calls use; tests may shorten them.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Greet after this much silence from the callee after pick-up.
    pub pickup_silence: Duration,
    /// Greet after this long whatever the callee is doing.
    pub pickup_cap: Duration,
    /// Speech that starts within this long of the greeting's first audio does not interrupt
    /// it unless it lasts `greeting_long_speech`.
    pub greeting_grace: Duration,
    pub greeting_long_speech: Duration,
    /// A hold with no words for this long resumes the agent.
    pub hold_timeout: Duration,
    /// A turn is over when its audio has played by our clock plus this, mark or no mark.
    pub playout_margin: Duration,
    /// The answer to the LLM is late after this long: say "one moment" (once per turn).
    pub late_first_token: Duration,
    /// A clause of the answer played and the next has not come for this long: "one moment".
    pub late_next_clause: Duration,
    /// No first token this long after asking: the generation has failed (a `Timeout`), so no
    /// caller waits longer in silence. The call sets it from `OPENAI_FIRST_TOKEN_TIMEOUT_MS`,
    /// the client's own deadline: one setting, whichever notices first.
    pub first_token_deadline: Duration,
    /// Final words pending, no `speech_final`/`UtteranceEnd`, and VAD silence this long: the
    /// recogniser lost the end of turn; end it ourselves.
    pub end_of_turn_fallback: Duration,
    /// Voicemail: speak this long after the machine's greeting went quiet, without a beep.
    pub voicemail_silence: Duration,
    /// Voicemail: speak after this long whatever.
    pub voicemail_cap: Duration,
    /// A closing turn that has not finished in this long hangs up anyway.
    pub closing_cap: Duration,
    /// Speech that starts this soon after the end of the caller's last words, and
    /// interrupts the answer to them, continues their turn (`continuation`).
    pub continuation_window: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            pickup_silence: Duration::from_millis(1000),
            pickup_cap: Duration::from_millis(3000),
            greeting_grace: Duration::from_millis(1000),
            greeting_long_speech: Duration::from_millis(1200),
            hold_timeout: Duration::from_millis(1500),
            playout_margin: Duration::from_millis(750),
            late_first_token: Duration::from_millis(1500),
            first_token_deadline: Duration::from_millis(3500),
            late_next_clause: Duration::from_millis(1000),
            end_of_turn_fallback: Duration::from_millis(2500),
            voicemail_silence: Duration::from_millis(2000),
            voicemail_cap: Duration::from_secs(20),
            closing_cap: Duration::from_secs(15),
            continuation_window: Duration::from_millis(1000),
        }
    }
}

/// Everything the core starts from.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    pub sample_rate: u32,
    /// Speech over the agent for this long holds its audio (`barge_in.min_speech_ms`).
    pub min_speech: Duration,
    /// Words that never interrupt when said alone.
    pub backchannels: Vec<String>,
    pub reprompt_after: Duration,
    pub hang_up_after_reprompts: u32,
    pub max_turns: u32,
    /// Tool-only answers the LLM may chain before it must speak.
    pub max_tool_rounds: u32,
    pub lines: Lines,
    pub prerendered: Prerendered,
    pub timing: Timing,
    pub restarts: RestartPolicy,
    /// Ask the recogniser for its final when our VAD hears the caller stop (`continuation`).
    pub finalize_on_silence: bool,
    /// Ask the LLM on the caller's words as soon as they stop, before the final
    /// (`speculation`).
    pub speculate: bool,
}
