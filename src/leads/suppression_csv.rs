//! Parsing a suppression (do-not-call) list: a CSV with a `phone` column (any spelling the lead
//! importer accepts) and an optional `reason`. Same conventions as lead lists (BOM, CRLF,
//! headers in any case, rows numbered as a spreadsheet shows them); pure code, no I/O.

use std::collections::HashSet;

use super::csv_import::{csv_reader, normalise_header, CsvFileError, RejectedRow, PHONE_ALIASES};
use crate::domain::Phone;

/// Used when a row gives no reason.
pub const DEFAULT_REASON: &str = "on the operator's do-not-call list";
/// Longest reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// What a file contained.
#[derive(Debug, Default)]
pub struct ParsedSuppressions {
    /// (E.164 phone, reason), each number once.
    pub entries: Vec<(String, String)>,
    pub rejected: Vec<RejectedRow>,
    pub duplicates_in_file: usize,
}

pub fn parse_suppressions(bytes: &[u8]) -> Result<ParsedSuppressions, CsvFileError> {
    let mut reader = csv_reader(bytes)?;
    let headers = reader
        .headers()
        .map_err(|e| CsvFileError::Malformed(e.to_string()))?
        .clone();
    let mut phone_at = None;
    let mut reason_at = None;
    for (index, raw) in headers.iter().enumerate() {
        let header = normalise_header(raw);
        let slot = if PHONE_ALIASES.contains(&header.as_str()) {
            &mut phone_at
        } else if header == "reason" {
            &mut reason_at
        } else {
            continue;
        };
        if slot.replace(index).is_some() {
            return Err(CsvFileError::DuplicateColumn(raw.trim().to_string()));
        }
    }
    let phone_at = phone_at.ok_or(CsvFileError::MissingColumn("phone"))?;

    let mut parsed = ParsedSuppressions::default();
    let mut seen = HashSet::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                parsed.rejected.push(RejectedRow {
                    row,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let phone = match record.get(phone_at).filter(|p| !p.is_empty()) {
            None => Err("phone is empty".to_string()),
            Some(raw) => Phone::parse(raw),
        };
        let phone = match phone {
            Ok(p) => p,
            Err(reason) => {
                parsed.rejected.push(RejectedRow { row, reason });
                continue;
            }
        };
        let reason = reason_at
            .and_then(|i| record.get(i))
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_REASON);
        if reason.chars().count() > MAX_REASON_CHARS {
            parsed.rejected.push(RejectedRow {
                row,
                reason: format!("reason is longer than {MAX_REASON_CHARS} characters"),
            });
            continue;
        }
        if !seen.insert(phone.as_str().to_string()) {
            parsed.duplicates_in_file += 1;
            continue;
        }
        parsed
            .entries
            .push((phone.as_str().to_string(), reason.to_string()));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_reasons_and_bad_rows() {
        let text = "\u{feff}Mobile Number,Reason,notes\r\n\
            +91 98765 43210,asked on WhatsApp,x\r\n\
            09876543210,,\r\n\
            12345,typo,\r\n\
            ,,\r\n\
            +1 415 555 0100,,\r\n";
        let parsed = parse_suppressions(text.as_bytes()).unwrap();
        assert_eq!(
            parsed.entries,
            vec![
                ("+919876543210".to_string(), "asked on WhatsApp".to_string()),
                ("+14155550100".to_string(), DEFAULT_REASON.to_string()),
            ]
        );
        assert_eq!(parsed.duplicates_in_file, 1);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].row, 4);
        assert!(parsed.rejected[0].reason.contains("Indian number"));
    }

    #[test]
    fn file_level_errors() {
        assert_eq!(parse_suppressions(b"").unwrap_err(), CsvFileError::Empty);
        assert_eq!(
            parse_suppressions(b"name,reason\nA,x\n").unwrap_err(),
            CsvFileError::MissingColumn("phone")
        );
        assert!(matches!(
            parse_suppressions(b"phone,mobile\n").unwrap_err(),
            CsvFileError::DuplicateColumn(_)
        ));
    }
}
