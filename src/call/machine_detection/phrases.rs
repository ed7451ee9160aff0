//! Machine phrases matched in transcripts, tolerant of case, punctuation and the spellings a
//! speech recogniser picks ("dialled"/"dialed", "you've"/"you have", "voicemail"/"voice
//! mail", "kripya"/"kripaya", "hain"/"hai"). Phrase and transcript are put in the same
//! canonical form (lowercase words, punctuation dropped, variants mapped to one spelling), then
//! the phrase must appear as a run of whole words.

/// One spelling for the variants a recogniser writes. Both sides go through it, so the only
/// risk of an over-eager mapping is a false match, never a missed one.
fn canonical(word: &str) -> &str {
    match word {
        "dialled" => "dialed",
        "dialling" => "dialing",
        "voicemail" | "voicemails" => "voice mail",
        "youve" => "you have",
        "youre" => "you are",
        "cant" => "cannot",
        "isnt" => "is not",
        "unavailable" => "not available",
        "unreachable" => "not reachable",
        "switch" | "switched" | "switchd" => "switched",
        "switchedoff" | "switchoff" => "switched off",
        "pls" | "plz" => "please",
        "ap" => "aap",
        "hain" | "hai" | "hei" | "hay" | "he" => "hai",
        "kripaya" | "krupya" | "kirpya" | "kripa" | "krpya" => "kripya",
        "vah" | "wah" | "woh" | "voh" | "vo" | "wo" => "vah",
        "nahin" | "nahi" | "nai" => "nahi",
        "baad" | "bad" => "baad",
        "karen" | "karein" | "kare" | "karien" => "karein",
        "kshetra" | "kshetr" | "chhetra" | "chetra" | "shetra" => "kshetra",
        "vyast" | "vyasth" | "wyast" => "vyast",
        other => other,
    }
}

/// Lowercase words of `text` in canonical spelling.
pub fn normalize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    // Apostrophes join ("you've" -> "youve"); other punctuation separates words.
    let cleaned: String = lower
        .chars()
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned
        .split_whitespace()
        .flat_map(|w| {
            canonical(w)
                .split(' ')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The machine phrases of one playbook, ready to match.
#[derive(Debug, Clone)]
pub struct PhraseList {
    phrases: Vec<Vec<String>>,
}

impl PhraseList {
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> PhraseList {
        PhraseList {
            phrases: phrases
                .iter()
                .map(|p| normalize(p.as_ref()))
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    /// Whether `text` contains any phrase as whole words.
    pub fn matches(&self, text: &str) -> bool {
        let words = normalize(text);
        self.phrases.iter().any(|phrase| {
            words
                .windows(phrase.len())
                .any(|window| window == phrase.as_slice())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let list = PhraseList::new(&[
            "please leave a message",
            "the number you have dialled",
            "you've reached",
            "is switched off",
            "aap jis number par call kar rahe hain",
            "kripya thodi der baad call karein",
        ]);
        let cases = [
            ("Please leave a message after the tone.", true),
            ("PLEASE, leave a message!", true),
            ("The number you have dialed is not reachable", true),
            ("Hi, you have reached Ravi", true),
            ("hi youve reached ravi", true),
            ("the number is switch off", true),
            ("Aap jis number par call kar rahe hai, vo abhi", true),
            ("krupya thodi der bad call karen", true),
            ("hello who is this", false),
            // Whole words only: "message" inside another word does not count.
            ("please leave a messages", false),
            ("leave a message", false),
        ];
        for (text, machine) in cases {
            assert_eq!(list.matches(text), machine, "{text}");
        }
    }

    #[test]
    fn empty_phrases_never_match() {
        let list = PhraseList::new(&["", "  ,. "]);
        assert!(!list.matches("anything at all"));
    }
}
