//! `ALLOWED_COUNTRY_CODES`: the destinations lead uploads may hold (default `91`, India).
//!
//! A list uploaded with foreign numbers is usually a mistake (a spreadsheet that lost its
//! country column) and calling abroad costs money and may break other countries' rules, so
//! those rows are refused with the reason rather than dialed.

use crate::domain::Phone;

/// Country calling codes without `+`, e.g. `["91"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedCountryCodes(Vec<String>);

impl AllowedCountryCodes {
    /// Comma-separated codes, with or without `+`: `91`, `+91, 1`.
    pub fn parse(raw: &str) -> Result<AllowedCountryCodes, String> {
        let mut codes = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let code = part.strip_prefix('+').unwrap_or(part);
            let valid = (1..=3).contains(&code.len())
                && code.bytes().all(|b| b.is_ascii_digit())
                && !code.starts_with('0');
            if !valid {
                return Err(format!(
                    "{part:?} is not a country calling code (1 to 3 digits, e.g. 91)"
                ));
            }
            codes.push(code.to_string());
        }
        if codes.is_empty() {
            return Err("expected at least one country calling code, e.g. 91".into());
        }
        Ok(AllowedCountryCodes(codes))
    }

    /// E.164 country codes are prefix-free, so a prefix match is exact.
    pub fn allows(&self, phone: &Phone) -> bool {
        let digits = phone.as_str().trim_start_matches('+');
        self.0.iter().any(|code| digits.starts_with(code.as_str()))
    }

    /// `+91, +1`, for messages.
    pub fn listed(&self) -> String {
        self.0
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_match() {
        let india = AllowedCountryCodes::parse("91").unwrap();
        let phone = |raw: &str| Phone::parse(raw).unwrap();
        assert!(india.allows(&phone("09876543210")));
        assert!(!india.allows(&phone("+1 415 555 0100")));
        let two = AllowedCountryCodes::parse(" +91, 1 ").unwrap();
        assert!(two.allows(&phone("+1 415 555 0100")));
        assert!(!two.allows(&phone("+44 20 7946 0958")));
        assert_eq!(two.listed(), "+91, +1");
        for bad in ["", ",", "0", "1234", "9a", "+"] {
            assert!(AllowedCountryCodes::parse(bad).is_err(), "{bad}");
        }
    }
}
