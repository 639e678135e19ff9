//! Text cells of the CSV the API writes, made safe to open in a spreadsheet.
//!
//! A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
//! spreadsheets skip before reading one) is run as a formula when the file is opened: a
//! payment reference written by the payer could put a live link or a command into the
//! payee's sheet. Such text gets a leading `'`, as OWASP advises ("CSV Injection"), which
//! spreadsheets show as text. Only text a caller wrote goes through here: amounts are
//! numbers the API formats, and a negative one must stay a number.

use std::borrow::Cow;

/// `text` as a cell no spreadsheet runs as a formula.
pub fn text_cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn formula_starts_are_quoted_and_plain_text_is_kept() {
        for formula in [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(text_cell(formula), format!("'{formula}"));
        }
        for plain in ["bank-42", "", "a=b", " =1", "'quoted"] {
            assert_eq!(text_cell(plain), plain);
        }
    }
}
