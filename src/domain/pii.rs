//! Phone numbers in logs: masked (`+91******3210`) unless the operator sets `LOG_PII=true`.
//!
//! Logs travel further than the database (collectors, tickets, screenshots), and a number is
//! personal data. The last four digits are kept so an engineer can still match a line to a
//! complaint. The switch is process-wide because log lines are written far from `Settings`;
//! `startup` sets it once from `LOG_PII`.

use std::sync::atomic::{AtomicBool, Ordering};

static REVEAL: AtomicBool = AtomicBool::new(false);

/// Sets whether numbers are logged in full (`LOG_PII=true`).
pub fn set_log_pii(reveal: bool) {
    REVEAL.store(reveal, Ordering::Relaxed);
}

/// A phone number as a log line may show it: `tracing::info!(to = %Masked(&number), …)`.
#[derive(Debug, Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl std::fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if REVEAL.load(Ordering::Relaxed) {
            f.write_str(self.0)
        } else {
            f.write_str(&mask(self.0))
        }
    }
}

/// Keeps a leading `+` and two digits (the country code of `+91`) and the last four
/// characters; every other character becomes `*`. Short values are masked whole.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let head = if chars.first() == Some(&'+') { 3 } else { 0 };
    let tail = 4;
    if chars.len() < head + tail + 4 {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        if i < head || i >= chars.len() - tail {
            out.push(*c);
        } else {
            out.push('*');
        }
    }
    out
}

/// Free text from elsewhere (a provider's error message) with the phone numbers in it masked,
/// unless `LOG_PII=true`: such text ends up in log lines and failure reasons.
pub fn mask_numbers_in(text: &str) -> String {
    if REVEAL.load(Ordering::Relaxed) {
        text.to_string()
    } else {
        mask_numbers(text)
    }
}

/// Shortest digit run taken for a phone number: subscriber numbers have 7 or more digits, while
/// HTTP statuses, years and ids in error messages are shorter or run into letters.
const MIN_NUMBER_DIGITS: usize = 7;

/// Masks (`mask`) every run of `MIN_NUMBER_DIGITS` or more digits, with its leading `+`.
pub fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let plus = chars[i] == '+' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit());
        if !(plus || chars[i].is_ascii_digit()) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += usize::from(plus);
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        if i - start - usize::from(plus) >= MIN_NUMBER_DIGITS {
            out.push_str(&mask(&run));
        } else {
            out.push_str(&run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_text_are_masked() {
        let cases = [
            (
                "Call to +919876543210 failed",
                "Call to +91******3210 failed",
            ),
            ("To: 09876543210.", "To: *******3210."),
            ("'09876543210' is DND", "'*******3210' is DND"),
            // Statuses, codes and short ids stay readable.
            (
                "HTTP 403: code 20003 at 2026",
                "HTTP 403: code 20003 at 2026",
            ),
            ("a + b, +12", "a + b, +12"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(mask_numbers(raw), want, "{raw}");
        }
    }

    #[test]
    fn numbers_keep_only_country_code_and_last_four() {
        let cases = [
            ("+919876543210", "+91******3210"),
            ("09876543210", "*******3210"),
            ("+14155550100", "+14*****0100"),
            ("12345", "*****"),
            ("", ""),
            ("+9", "**"),
        ];
        for (raw, want) in cases {
            assert_eq!(mask(raw), want, "{raw}");
        }
    }

    #[test]
    fn display_masks_by_default() {
        // The switch is process-wide; unit tests never turn it on, so the default holds here.
        assert_eq!(Masked("+919876543210").to_string(), "+91******3210");
    }
}
