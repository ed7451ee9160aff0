//! What a pre-rendered line sounds like, and the file name that says so: a hash of the text,
//! voice, model, language and sample rate. Change any of them (a playbook edited, another
//! voice) and the line gets a new file; the old one is simply never read again.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::conversation::playbook::{render, Playbook};

/// The three fallback lines of a playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    Apology,
    OneMoment,
    TimeUp,
}

impl LineKind {
    pub const ALL: [LineKind; 3] = [LineKind::Apology, LineKind::OneMoment, LineKind::TimeUp];

    /// The playbook's template for this line.
    pub fn template(self, playbook: &Playbook) -> &str {
        match self {
            LineKind::Apology => &playbook.closing.apology,
            LineKind::OneMoment => &playbook.closing.one_moment,
            LineKind::TimeUp => &playbook.closing.time_up,
        }
    }

    /// The playbook field, for logs.
    pub fn field(self) -> &'static str {
        match self {
            LineKind::Apology => "closing.apology",
            LineKind::OneMoment => "closing.one_moment",
            LineKind::TimeUp => "closing.time_up",
        }
    }
}

/// Everything that makes a rendered line sound as it does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineKey {
    pub text: String,
    /// The ElevenLabs voice; `None` = the client's default voice.
    pub voice: Option<String>,
    pub model: String,
    pub language: String,
    pub sample_rate: u32,
}

impl LineKey {
    /// The cache file's name: `<rate>-<first 32 hex digits of SHA-256>.pcm`.
    pub fn file_name(&self) -> String {
        let mut h = Sha256::new();
        // Length-prefixed fields: ("ab", "c") and ("a", "bc") must not collide.
        for field in [
            "fallback-line-v1",
            &self.text,
            self.voice.as_deref().unwrap_or(""),
            &self.model,
            &self.language,
            &self.sample_rate.to_string(),
        ] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        let hex: String = h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}-{hex}.pcm", self.sample_rate)
    }
}

/// A fallback line as it is rendered once for every lead: template variables (`{{lead_name}}`)
/// are left out, and the spaces and commas they leave behind are tidied ("Thank you,
/// {{lead_name}}!" → "Thank you!").
pub fn spoken_without_lead(template: &str) -> String {
    let bare = render(template, &HashMap::new());
    let words: Vec<&str> = bare.split_whitespace().collect();
    let mut out = String::with_capacity(bare.len());
    for word in words {
        let glued = word.chars().all(|c| ",.!?;:".contains(c));
        if glued {
            // A comma left before the end of a sentence goes: "you, !" → "you!".
            if out.ends_with(',') && word != "," {
                out.pop();
            }
            if !(out.ends_with(',') && word == ",") {
                out.push_str(word);
            }
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str, rate: u32) -> LineKey {
        LineKey {
            text: text.into(),
            voice: Some("v1".into()),
            model: "eleven_flash_v2_5".into(),
            language: "en-IN".into(),
            sample_rate: rate,
        }
    }

    #[test]
    fn the_file_name_changes_with_whatever_changes_the_sound() {
        let base = key("One moment, please.", 8000);
        assert_eq!(
            base.file_name(),
            key("One moment, please.", 8000).file_name()
        );
        assert!(base.file_name().starts_with("8000-"));
        assert!(base.file_name().ends_with(".pcm"));
        let mut others = vec![
            key("One moment please.", 8000),
            key("One moment, please.", 16000),
        ];
        let mut voice = base.clone();
        voice.voice = None;
        let mut model = base.clone();
        model.model = "eleven_turbo_v2_5".into();
        let mut language = base.clone();
        language.language = "hi-IN".into();
        others.extend([voice, model, language]);
        for other in others {
            assert_ne!(base.file_name(), other.file_name(), "{other:?}");
        }
    }

    #[test]
    fn lead_variables_are_left_out_tidily() {
        for (template, spoken) in [
            ("Thank you, {{lead_name}}!", "Thank you!"),
            ("Thank you {{ lead_name }}!", "Thank you!"),
            ("Dhanyavaad {{lead_name}} ji!", "Dhanyavaad ji!"),
            (
                "Sorry {{lead_name}}, a problem. Bye!",
                "Sorry, a problem. Bye!",
            ),
            ("One moment, please.", "One moment, please."),
        ] {
            assert_eq!(spoken_without_lead(template), spoken, "{template}");
        }
    }
}
