//! Parsing a lead list (CSV) into leads, row by row, with a reason for every row refused.
//!
//! Real lists come from spreadsheets and CRMs: a BOM, CRLF, headers in any case with spaces,
//! quoted fields holding commas and newlines, names in Devanagari, phones in every spelling.
//! Pure code, no I/O: the API feeds it the bytes and the store inserts what it returns.

use std::collections::HashSet;

use serde::Serialize;

use crate::domain::Phone;
use crate::store::NewLead;

/// A row that was not imported, numbered as a spreadsheet shows it (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RejectedRow {
    pub row: usize,
    pub reason: String,
}

/// What a file contained.
#[derive(Debug, Default)]
pub struct ParsedLeads {
    /// Leads to insert, each with its row number.
    pub leads: Vec<(usize, NewLead)>,
    pub rejected: Vec<RejectedRow>,
    /// Rows whose phone appeared on an earlier row of the same file.
    pub duplicates_in_file: usize,
}

/// The file as a whole cannot be read as a lead list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text (byte {0}); save it as CSV UTF-8")]
    NotText(usize),
    #[error("the file has no {0} column; the header row needs name and phone (a suppression list: phone)")]
    MissingColumn(&'static str),
    #[error("column {0:?} appears twice in the header")]
    DuplicateColumn(String),
    #[error("the file is not readable as CSV: {0}")]
    Malformed(String),
}

/// The spellings of the phone column.
pub(crate) const PHONE_ALIASES: &[&str] = &[
    "phone",
    "phone_number",
    "mobile",
    "mobile_number",
    "contact_number",
];

/// The columns we understand, and the other spellings operators use for them.
const KNOWN_COLUMNS: [(&str, &[&str]); 6] = [
    ("name", &["name", "full_name", "lead_name", "customer_name"]),
    ("phone", PHONE_ALIASES),
    ("email", &["email", "email_address", "e_mail"]),
    ("property_type", &["property_type"]),
    ("location", &["location"]),
    ("budget", &["budget"]),
];

/// Where each known column sits in the file, and the names of the others (kept as attributes).
struct Columns {
    known: [Option<usize>; 6],
    extra: Vec<(usize, String)>,
    width: usize,
}

const NAME: usize = 0;
const PHONE: usize = 1;
const EMAIL: usize = 2;

/// `Phone Number`, ` PHONE-number ` → `phone_number`.
pub(crate) fn normalise_header(raw: &str) -> String {
    let lowered = raw.trim().trim_start_matches('\u{feff}').to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    for c in lowered.chars() {
        if c.is_whitespace() || c == '-' || c == '_' || c == '.' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c);
        }
    }
    out.trim_end_matches('_').to_string()
}

fn map_columns(headers: &csv::StringRecord) -> Result<Columns, CsvFileError> {
    let mut columns = Columns {
        known: [None; 6],
        extra: Vec::new(),
        width: headers.len(),
    };
    let mut seen = HashSet::new();
    for (index, raw) in headers.iter().enumerate() {
        let header = normalise_header(raw);
        if header.is_empty() {
            continue;
        }
        if !seen.insert(header.clone()) {
            return Err(CsvFileError::DuplicateColumn(raw.trim().to_string()));
        }
        match KNOWN_COLUMNS
            .iter()
            .position(|(_, aliases)| aliases.contains(&header.as_str()))
        {
            Some(k) if columns.known[k].is_none() => columns.known[k] = Some(index),
            Some(_) => return Err(CsvFileError::DuplicateColumn(raw.trim().to_string())),
            None => columns.extra.push((index, header)),
        }
    }
    for required in [NAME, PHONE] {
        if columns.known[required].is_none() {
            return Err(CsvFileError::MissingColumn(KNOWN_COLUMNS[required].0));
        }
    }
    Ok(columns)
}

/// A CSV reader over an upload's text: UTF-8 (BOM dropped), no NUL bytes, not empty. Shared
/// with the suppression list's upload, which follows the same conventions.
pub(crate) fn csv_reader(bytes: &[u8]) -> Result<csv::Reader<&[u8]>, CsvFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| CsvFileError::NotText(e.valid_up_to()))?;
    if let Some(nul) = text.find('\0') {
        return Err(CsvFileError::NotText(nul));
    }
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(CsvFileError::Empty);
    }
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes()))
}

/// The data rows, numbered as a spreadsheet shows them (the header is row 1), blank rows
/// skipped; a row the CSV reader cannot read comes as the reason why.
pub(crate) fn data_rows<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
) -> impl Iterator<Item = (usize, Result<csv::StringRecord, String>)> + '_ {
    reader
        .records()
        .enumerate()
        .filter_map(|(index, record)| match record {
            Ok(r) if r.iter().all(str::is_empty) => None,
            Ok(r) => Some((index + 2, Ok(r))),
            Err(e) => Some((index + 2, Err(format!("unreadable row: {e}")))),
        })
}

/// Parses a whole upload. File-level problems are an `Err`; row-level ones are listed in
/// `rejected` and the other rows still import.
pub fn parse_leads(bytes: &[u8]) -> Result<ParsedLeads, CsvFileError> {
    let mut reader = csv_reader(bytes)?;
    let headers = reader
        .headers()
        .map_err(|e| CsvFileError::Malformed(e.to_string()))?
        .clone();
    let columns = map_columns(&headers)?;

    let mut parsed = ParsedLeads::default();
    let mut phones_seen = HashSet::new();
    for (row, record) in data_rows(&mut reader) {
        match record.and_then(|r| lead_from_record(&r, &columns)) {
            Ok(lead) if !phones_seen.insert(lead.phone.clone()) => parsed.duplicates_in_file += 1,
            Ok(lead) => parsed.leads.push((row, lead)),
            Err(reason) => parsed.rejected.push(RejectedRow { row, reason }),
        }
    }
    Ok(parsed)
}

fn lead_from_record(record: &csv::StringRecord, columns: &Columns) -> Result<NewLead, String> {
    if record.len() > columns.width {
        return Err(format!(
            "row has {} fields but the header has {}",
            record.len(),
            columns.width
        ));
    }
    let field = |k: usize| -> Option<String> {
        columns.known[k]
            .and_then(|i| record.get(i))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let name = field(NAME).ok_or("name is empty")?;
    if name.chars().count() > 200 {
        return Err("name is longer than 200 characters".into());
    }
    let phone = Phone::parse(&field(PHONE).ok_or("phone is empty")?)?;
    let email = field(EMAIL);
    if let Some(email) = &email {
        let plausible = email.contains('@') && !email.contains(char::is_whitespace);
        if !plausible {
            return Err(format!("email {email:?} is not an e-mail address"));
        }
    }
    let attributes = columns
        .extra
        .iter()
        .filter_map(|(i, key)| {
            let value = record.get(*i).filter(|v| !v.is_empty())?;
            Some((key.clone(), serde_json::Value::String(value.to_string())))
        })
        .collect();
    Ok(NewLead {
        name,
        phone: phone.as_str().to_string(),
        email,
        property_type: field(3),
        location: field(4),
        budget: field(5),
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedLeads {
        parse_leads(text.as_bytes()).expect("file is readable")
    }

    #[test]
    fn messy_but_valid_file() {
        let text =
            "\u{feff} Name ,PHONE Number,E-mail,Property Type,location,Budget,Preferred Time\r\n\
            \"Sharma, Ravi\",+91 98765 43210,ravi@example.com,2BHK,\"Pune\nBaner\",80L,evening\r\n\
            प्रिया वर्मा,09876501234,,villa,Noida,,\r\n";
        let parsed = parse(text);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let (row, ravi) = &parsed.leads[0];
        assert_eq!(*row, 2);
        assert_eq!(ravi.name, "Sharma, Ravi");
        assert_eq!(ravi.phone, "+919876543210");
        assert_eq!(ravi.location.as_deref(), Some("Pune\nBaner"));
        assert_eq!(ravi.attributes["preferred_time"], "evening");
        let (_, priya) = &parsed.leads[1];
        assert_eq!(priya.name, "प्रिया वर्मा");
        assert_eq!(priya.phone, "+919876501234");
        assert_eq!(priya.email, None);
        assert!(priya.attributes.is_empty());
    }

    #[test]
    fn broken_rows_are_reported_and_others_kept() {
        let text = "name,phone\nA,9876543210\n,9876543211\nB,12345\nC,9876543210\nD,9876543212,extra\nE,\n";
        let parsed = parse(text);
        assert_eq!(parsed.leads.len(), 1);
        assert_eq!(parsed.duplicates_in_file, 1);
        let rows: Vec<usize> = parsed.rejected.iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![3, 4, 6, 7]);
        assert!(parsed.rejected[0].reason.contains("name"));
        assert!(parsed.rejected[1].reason.contains("Indian number"));
        assert!(parsed.rejected[2].reason.contains("fields"));
        assert!(parsed.rejected[3].reason.contains("phone is empty"));
    }

    #[test]
    fn spellings_of_one_number_are_duplicates() {
        let text = "name,phone\nA,+91 98765 43210\nB,09876543210\nC,98765-43210\nD,919876543210\n";
        let parsed = parse(text);
        assert_eq!(parsed.leads.len(), 1);
        assert_eq!(parsed.duplicates_in_file, 3);
    }

    #[test]
    fn file_level_errors() {
        assert_eq!(parse_leads(b"").unwrap_err(), CsvFileError::Empty);
        assert_eq!(parse_leads(b"  \n").unwrap_err(), CsvFileError::Empty);
        assert!(matches!(
            parse_leads(b"\x89PNG\r\n\x1a\n\x00\x00"),
            Err(CsvFileError::NotText(_))
        ));
        assert_eq!(
            parse_leads(b"name,email\nA,a@b.c\n").unwrap_err(),
            CsvFileError::MissingColumn("phone")
        );
        assert_eq!(
            parse_leads(b"{\"name\": \"A\", \"phone\": 1}").unwrap_err(),
            CsvFileError::MissingColumn("name")
        );
        assert!(matches!(
            parse_leads(b"name,phone,Phone\n").unwrap_err(),
            CsvFileError::DuplicateColumn(_)
        ));
    }

    #[test]
    fn blank_rows_are_skipped_and_bad_email_refused() {
        let parsed = parse("name,phone,email\n,,\nA,9876543210,not-an-email\n");
        assert!(parsed.leads.is_empty());
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].row, 3);
    }
}
