//! The turn-taking core's configuration for one call, from its playbook, the settings and the
//! pre-rendered fallback lines.

use std::collections::HashMap;
use std::time::Duration;

use super::{CallSetup, MAX_TOOL_ROUNDS};
use crate::call::turn::restart::RestartPolicy;
use crate::call::turn::{Lines, Prerendered, Timing, TurnConfig};
use crate::conversation::playbook::render;

/// The core's configuration from the playbook, the settings and the fallback lines.
pub(super) fn turn_config(s: &CallSetup, vars: &HashMap<String, String>) -> TurnConfig {
    let p = &s.playbook;
    let f = s.fallback.as_deref();
    let timing = Timing {
        late_first_token: Duration::from_millis(u64::from(s.engine.settings.late_first_token_ms)),
        // One deadline, not two: the client's `OPENAI_FIRST_TOKEN_TIMEOUT_MS`.
        first_token_deadline: s.engine.settings.openai.deadlines.first_byte,
        ..Timing::default()
    };
    TurnConfig {
        sample_rate: s.sample_rate,
        min_speech: Duration::from_millis(u64::from(p.barge_in.min_speech_ms)),
        backchannels: p.barge_in.backchannels.clone(),
        reprompt_after: Duration::from_secs(u64::from(p.silence.reprompt_after_seconds)),
        hang_up_after_reprompts: p.silence.hang_up_after_reprompts,
        max_turns: p.max_turns,
        max_tool_rounds: MAX_TOOL_ROUNDS,
        lines: Lines {
            greeting: render(&p.greeting, vars),
            reprompt: render(&p.silence.reprompt, vars),
            not_qualified: render(&p.closing.not_qualified, vars),
            time_up: f.map_or_else(
                || render(&p.closing.time_up, vars),
                |f| f.time_up.text.clone(),
            ),
            apology: f.map_or_else(
                || render(&p.closing.apology, vars),
                |f| f.apology.text.clone(),
            ),
            one_moment: f.map(|f| f.one_moment.text.clone()).unwrap_or_default(),
            voicemail_message: p.voicemail.message.as_ref().map(|m| render(m, vars)),
        },
        prerendered: Prerendered {
            apology: f.map(|f| f.apology.pcm.len()),
            one_moment: f.map(|f| f.one_moment.pcm.len()),
            time_up: f.map(|f| f.time_up.pcm.len()),
        },
        timing,
        restarts: RestartPolicy::default(),
        finalize_on_silence: s.engine.settings.stt_finalize_on_silence,
        speculate: s.engine.settings.llm_speculate,
    }
}
