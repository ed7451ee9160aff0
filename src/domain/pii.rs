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

#[cfg(test)]
mod tests {
    use super::*;

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
