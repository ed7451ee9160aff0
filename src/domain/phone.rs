//! Phone numbers in E.164, with India (+91) as the default region.
//!
//! Lead lists arrive in every spelling (`+91 98765 43210`, `09876543210`, `98765-43210`,
//! `919876543210`); they must all become one number, or the same person is called twice.

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form (`+919876543210`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Normalises a human-written number; the error says why it was refused.
    pub fn parse(raw: &str) -> Result<Phone, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("phone is empty".into());
        }
        if trimmed.contains(['e', 'E']) && trimmed.contains('+') && trimmed.contains('.') {
            return Err(format!(
                "phone {trimmed:?} looks like a spreadsheet number in scientific notation; export the column as text"
            ));
        }
        let trimmed = trimmed.strip_prefix("tel:").unwrap_or(trimmed);
        let (international, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => return Err(format!("phone {trimmed:?} contains {c:?}")),
            }
        }
        if international {
            return Self::international(&digits, trimmed);
        }
        if let Some(without_idd) = digits.strip_prefix("00") {
            return Self::international(without_idd, trimmed);
        }
        Self::indian(&digits, trimmed)
    }

    /// `+CC…`: check the length rules of E.164, and India's own when the code is 91.
    fn international(digits: &str, raw: &str) -> Result<Phone, String> {
        if let Some(national) = digits.strip_prefix("91") {
            return Self::indian_national(national, raw);
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(format!(
                "phone {raw:?} is not a valid international number (E.164 has 8 to 15 digits)"
            ));
        }
        Ok(Phone(format!("+{digits}")))
    }

    /// A number written without `+`: Indian, with or without the trunk `0` or the `91` prefix.
    fn indian(digits: &str, raw: &str) -> Result<Phone, String> {
        match digits.len() {
            10 => Self::indian_national(digits, raw),
            11 if digits.starts_with('0') => Self::indian_national(&digits[1..], raw),
            12 if digits.starts_with("91") => Self::indian_national(&digits[2..], raw),
            _ => Err(format!(
                "phone {raw:?} is not a valid Indian number (10 digits); write other countries as +<country code>"
            )),
        }
    }

    /// The 10-digit national number of India: mobiles start 6–9, landlines 2–5 (area code).
    fn indian_national(national: &str, raw: &str) -> Result<Phone, String> {
        let valid = national.len() == 10
            && national.as_bytes()[0] >= b'2'
            && national.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(format!(
                "phone {raw:?} is not a valid Indian number (10 digits after +91, not starting with 0 or 1)"
            ));
        }
        Ok(Phone(format!("+91{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a log line may show it (masked unless `LOG_PII=true`).
    pub fn masked(&self) -> super::Masked<'_> {
        super::Masked(&self.0)
    }

    /// For values read back from the database, which only ever holds parsed numbers.
    pub fn from_trusted(e164: String) -> Phone {
        Phone(e164)
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_indian_spelling_is_one_number() {
        for raw in [
            "+91 98765 43210",
            "09876543210",
            "98765-43210",
            "919876543210",
            "+91-98765-43210",
            "(0) 98765 43210",
            "0091 9876543210",
            " 9876543210 ",
            "tel:+919876543210",
        ] {
            assert_eq!(
                Phone::parse(raw).unwrap().as_str(),
                "+919876543210",
                "{raw}"
            );
        }
    }

    #[test]
    fn landlines_and_other_countries() {
        assert_eq!(
            Phone::parse("080 2345 6789").unwrap().as_str(),
            "+918023456789"
        );
        assert_eq!(
            Phone::parse("+1 415 555 0100").unwrap().as_str(),
            "+14155550100"
        );
        assert_eq!(
            Phone::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn bad_numbers_say_why() {
        for raw in [
            "",
            "12345",
            "98765 4321",
            "+91 12345 67890",
            "987654321O",
            "9.87654321E+09",
            "+0123456789",
            "+1234567890123456",
            "call me",
        ] {
            assert!(Phone::parse(raw).is_err(), "{raw} should be refused");
        }
        let err = Phone::parse("98765abc10").unwrap_err();
        assert!(err.contains("contains 'a'"), "{err}");
    }
}
