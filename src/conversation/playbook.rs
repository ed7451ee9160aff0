//! A conversation playbook (`playbooks/*.yaml`): data, not code. Persona, greeting, the facts
//! to collect, how to qualify, what to say on silence and at the end, and the barge-in rule.
//! Loading validates everything and names the file and the field at fault.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    pub agent_name: String,
    pub company: String,
    /// How the voice should sound (for people; the voice itself is `voice_id`).
    #[serde(default)]
    pub voice: Option<String>,
    /// ElevenLabs voice for this playbook; `ELEVENLABS_VOICE_ID` when absent.
    #[serde(default)]
    pub voice_id: Option<String>,
}

/// One fact the agent must collect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub name: String,
    #[serde(default = "string_type", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    /// How the agent asks for it.
    pub question: String,
}

fn string_type() -> String {
    "string".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    pub qualified: String,
    pub not_qualified: String,
    #[serde(default = "default_callback")]
    pub callback: String,
    /// Said when the call cannot go on (a provider failed for good).
    #[serde(default = "default_apology")]
    pub apology: String,
    /// Said when the call reaches `MAX_CALL_DURATION_MINUTES`.
    #[serde(default = "default_time_up")]
    pub time_up: String,
    /// Said when the agent's answer is late (a slow first token), so the caller is not left
    /// in silence. Pre-rendered like the apology and time-up lines (`FALLBACK_AUDIO_DIR`), so
    /// it is spoken without lead variables: a `{{lead_name}}` here is left out.
    #[serde(default = "default_one_moment")]
    pub one_moment: String,
}

fn default_callback() -> String {
    "Sure, we will call you back then. Thank you!".into()
}
fn default_apology() -> String {
    "Sorry, we are having a technical problem. We will call you back. Goodbye!".into()
}
fn default_one_moment() -> String {
    "One moment, please.".into()
}
fn default_time_up() -> String {
    "I have to end the call now. Thank you for your time, goodbye!".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    pub reprompt_after_seconds: u32,
    pub reprompt: String,
    /// Re-prompts before the agent gives up and ends the call (outcome `no_response`).
    #[serde(default = "one")]
    pub hang_up_after_reprompts: u32,
}

fn one() -> u32 {
    1
}

/// When the caller's voice cuts the agent off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BargeIn {
    /// Continuous speech needed before the agent stops talking.
    #[serde(default = "default_min_speech_ms")]
    pub min_speech_ms: u32,
    /// Words that never interrupt when said alone ("haan", "hmm", "okay").
    #[serde(default = "default_backchannels")]
    pub backchannels: Vec<String>,
}

fn default_min_speech_ms() -> u32 {
    400
}
fn default_backchannels() -> Vec<String> {
    [
        "haan", "han", "hmm", "hm", "okay", "ok", "achha", "accha", "ji", "right", "yes", "uh huh",
        "mm",
    ]
    .map(String::from)
    .to_vec()
}

impl Default for BargeIn {
    fn default() -> Self {
        BargeIn {
            min_speech_ms: default_min_speech_ms(),
            backchannels: default_backchannels(),
        }
    }
}

/// How the call tells a machine from a person, and what it leaves on a machine
/// (`call::machine_detection` applies the rules).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    /// Phrases that only machines say ("please leave a message", "the number you have
    /// dialled", "aap jis number par call kar rahe hain"); matched as whole words, tolerant of
    /// case, punctuation and common spelling variants.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Left after the beep; no message when absent (the call just ends).
    #[serde(default)]
    pub message: Option<String>,
    /// The verdict is given within this many seconds of the call's audio starting; a call
    /// still undecided then is taken for a person.
    #[serde(default = "default_decide_within_seconds")]
    pub decide_within_seconds: u32,
    /// Speech at the start lasting this long without a real pause is a machine's greeting.
    #[serde(default = "default_long_greeting_ms")]
    pub long_greeting_ms: u32,
}

fn default_decide_within_seconds() -> u32 {
    6
}
fn default_long_greeting_ms() -> u32 {
    4000
}

impl Default for Voicemail {
    fn default() -> Self {
        Voicemail {
            phrases: Vec::new(),
            message: None,
            decide_within_seconds: default_decide_within_seconds(),
            long_greeting_ms: default_long_greeting_ms(),
        }
    }
}

impl Voicemail {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=30).contains(&self.decide_within_seconds) {
            return Err((
                "voicemail.decide_within_seconds",
                "must be between 1 and 30".into(),
            ));
        }
        let window_ms = u64::from(self.decide_within_seconds) * 1000;
        if self.long_greeting_ms < 1500 || u64::from(self.long_greeting_ms) >= window_ms {
            return Err((
                "voicemail.long_greeting_ms",
                format!(
                    "must be at least 1500 and shorter than the decision window ({window_ms} ms)"
                ),
            ));
        }
        if self.phrases.iter().any(|p| p.trim().is_empty()) {
            return Err(("voicemail.phrases", "a phrase is empty".into()));
        }
        if self.message.as_ref().is_some_and(|m| m.trim().is_empty()) {
            return Err((
                "voicemail.message",
                "must not be empty (leave it out for no message)".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    pub when: String,
    pub hint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub name: String,
    pub language: String,
    pub persona: Persona,
    /// Template: `{{lead_name}}`, `{{property_type}}`, any CSV column.
    pub greeting: String,
    pub system_prompt: String,
    pub facts: Vec<Fact>,
    #[serde(default)]
    pub objections: Vec<Objection>,
    pub closing: Closing,
    pub silence: Silence,
    #[serde(default)]
    pub barge_in: BargeIn,
    /// Answering machines, call screening and carrier announcements.
    #[serde(default)]
    pub voicemail: Voicemail,
    pub max_turns: u32,
    /// Hand-off to a human (`transfer_to_human`); absent = the agent never transfers.
    #[serde(default)]
    pub handoff: Option<Handoff>,
}

/// How the agent hands a lead to a person (issue 14): the tool is offered only when the
/// campaign has `transfer_numbers` and the call runs in Exotel's flow mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    /// Said in full before the stream closes and the flow rings the team (template):
    /// "Connecting you to Priya from our sales team, one moment."
    pub line: String,
    /// When to hand over, for the model; the lead asking for a person always qualifies.
    #[serde(default)]
    pub when: Option<String>,
}

/// A playbook that could not be loaded: the file, the field, the reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {field}: {reason}")]
pub struct PlaybookError {
    pub file: String,
    pub field: String,
    pub reason: String,
}

impl Playbook {
    pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PlaybookError {
            file: file.clone(),
            field: "-".into(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<Playbook, PlaybookError> {
        let de = yaml_serde::Deserializer::from_str(text);
        let playbook: Playbook =
            serde_path_to_error::deserialize(de).map_err(|e| PlaybookError {
                file: file.to_string(),
                field: e.path().to_string(),
                reason: e.inner().to_string(),
            })?;
        playbook
            .validate()
            .map_err(|(field, reason)| PlaybookError {
                file: file.to_string(),
                field: field.to_string(),
                reason,
            })?;
        Ok(playbook)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.facts.is_empty() {
            return Err(("facts", "at least one fact to collect".into()));
        }
        let mut names = std::collections::HashSet::new();
        for fact in &self.facts {
            let valid = !fact.name.is_empty()
                && fact
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(("facts.name", format!("{:?} must be snake_case", fact.name)));
            }
            if !names.insert(&fact.name) {
                return Err(("facts.name", format!("{:?} appears twice", fact.name)));
            }
            if !matches!(fact.kind.as_str(), "string" | "number" | "date") {
                return Err((
                    "facts.type",
                    format!("{:?} is not string, number or date", fact.kind),
                ));
            }
        }
        if self.silence.reprompt_after_seconds == 0 {
            return Err((
                "silence.reprompt_after_seconds",
                "must be at least 1".into(),
            ));
        }
        if self.max_turns == 0 {
            return Err(("max_turns", "must be at least 1".into()));
        }
        self.voicemail.validate()?;
        if self
            .handoff
            .as_ref()
            .is_some_and(|h| h.line.trim().is_empty())
        {
            return Err(("handoff.line", "must not be empty".into()));
        }
        for (field, text) in [
            ("greeting", &self.greeting),
            ("system_prompt", &self.system_prompt),
        ] {
            if text.trim().is_empty() {
                return Err((field, "must not be empty".into()));
            }
        }
        Ok(())
    }

    /// Whether a set of collected facts qualifies the lead: every required fact is known.
    pub fn is_qualified(&self, facts: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.facts.iter().filter(|f| f.required).all(|f| {
            facts
                .get(&f.name)
                .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
        })
    }
}

/// Fills `{{ name }}` placeholders from `vars`; unknown names become empty.
pub fn render(template: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start + 2..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = rest[start + 2..start + 2 + len].trim();
        out.push_str(vars.get(key).map(String::as_str).unwrap_or(""));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_playbooks_load() {
        for entry in std::fs::read_dir("playbooks").unwrap() {
            let path = entry.unwrap().path();
            let playbook = Playbook::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(playbook.facts.iter().any(|f| f.required));
        }
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let text = std::fs::read_to_string("playbooks/real_estate_en.yaml").unwrap();
        let broken = text.replace("reprompt_after_seconds: 6", "reprompt_after_seconds: soon");
        let err = Playbook::parse(&broken, "x.yaml").unwrap_err();
        assert_eq!(err.file, "x.yaml");
        assert_eq!(err.field, "silence.reprompt_after_seconds");
        let missing = text.replace("max_turns: 20", "");
        assert!(Playbook::parse(&missing, "x.yaml")
            .unwrap_err()
            .reason
            .contains("max_turns"));
        let zero = text.replace("max_turns: 20", "max_turns: 0");
        assert_eq!(
            Playbook::parse(&zero, "x.yaml").unwrap_err().field,
            "max_turns"
        );
    }

    #[test]
    fn voicemail_fields_have_defaults_and_are_validated() {
        let text = std::fs::read_to_string("playbooks/real_estate_en.yaml").unwrap();
        let start = text
            .find("voicemail:")
            .expect("shipped playbook has a voicemail section");
        let end = text[start..].find("max_turns").unwrap() + start;
        let without = format!("{}{}", &text[..start], &text[end..]);
        let playbook = Playbook::parse(&without, "x.yaml").unwrap();
        assert_eq!(playbook.voicemail.decide_within_seconds, 6);
        assert_eq!(playbook.voicemail.long_greeting_ms, 4000);
        assert!(playbook.voicemail.phrases.is_empty());
        let cases = [
            (
                "  decide_within_seconds: 0\n",
                "voicemail.decide_within_seconds",
            ),
            (
                "  decide_within_seconds: 3\n  long_greeting_ms: 3000\n",
                "voicemail.long_greeting_ms",
            ),
            ("  long_greeting_ms: 500\n", "voicemail.long_greeting_ms"),
            ("  phrases: [\"\"]\n", "voicemail.phrases"),
            ("  message: \" \"\n", "voicemail.message"),
        ];
        for (fields, field) in cases {
            let broken = format!("{}voicemail:\n{fields}{}", &text[..start], &text[end..]);
            assert_eq!(
                Playbook::parse(&broken, "x.yaml").unwrap_err().field,
                field,
                "{fields}"
            );
        }
    }

    #[test]
    fn templates_take_lead_fields() {
        let vars: HashMap<String, String> = [("lead_name", "Ravi"), ("property_type", "2BHK")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            render("Hi {{lead_name}}, a {{ property_type }}{{nope}}!", &vars),
            "Hi Ravi, a 2BHK!"
        );
        assert_eq!(render("broken {{lead_name", &vars), "broken {{lead_name");
    }
}
