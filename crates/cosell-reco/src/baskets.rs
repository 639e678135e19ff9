//! Streaming basket readers: one basket per line, either item names separated by
//! commas (`.csv`, the Groceries layout) or integer ids separated by spaces (`.dat`,
//! the FIMI layout). Nothing is held beyond the current line.

use std::io::BufRead;
use std::path::Path;

/// How items are written on a basket line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasketFormat {
    /// Item names separated by commas; each name is trimmed.
    Csv,
    /// Non-negative integer item ids separated by spaces or tabs.
    Dat,
}

impl BasketFormat {
    /// Picks the format from a file extension: `.dat` is ids, anything else names.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("dat") => BasketFormat::Dat,
            _ => BasketFormat::Csv,
        }
    }
}

/// Why a basket file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BasketError {
    #[error("reading baskets: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: '{token}' is not an integer item id")]
    NotAnId { line: u64, token: String },
}

/// Calls `each` with the items of every non-empty basket in `reader`, in file order,
/// and returns how many baskets were passed on. Blank lines are not baskets: an empty
/// basket carries no co-purchase signal and would only dilute support.
pub fn read_baskets<R: BufRead>(
    mut reader: R,
    format: BasketFormat,
    mut each: impl FnMut(&[&str]),
) -> Result<u64, BasketError> {
    let mut line = String::new();
    let mut line_no = 0_u64;
    let mut baskets = 0_u64;
    let mut items: Vec<&str> = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(baskets);
        }
        line_no += 1;
        // One allocation serves every line: the vector borrows `line` only inside this
        // iteration and is handed back empty (re-collected in place) at the end of it.
        let mut reused = std::mem::take(&mut items);
        match format {
            BasketFormat::Csv => reused.extend(
                line.split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty()),
            ),
            BasketFormat::Dat => {
                for token in line.split_ascii_whitespace() {
                    if !token.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(BasketError::NotAnId {
                            line: line_no,
                            token: token.to_owned(),
                        });
                    }
                    reused.push(token);
                }
            }
        }
        if !reused.is_empty() {
            each(&reused);
            baskets += 1;
        }
        reused.clear();
        items = reused.into_iter().map(|_| "").collect();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn collect(text: &str, format: BasketFormat) -> Result<Vec<Vec<String>>, BasketError> {
        let mut out = Vec::new();
        read_baskets(text.as_bytes(), format, |items| {
            out.push(items.iter().map(|s| s.to_string()).collect());
        })?;
        Ok(out)
    }

    #[test]
    fn csv_names_are_trimmed_and_blank_lines_skipped() {
        let baskets = collect("milk , bread\n\n cream cheese \n", BasketFormat::Csv).unwrap();
        assert_eq!(baskets, vec![vec!["milk", "bread"], vec!["cream cheese"]]);
    }

    #[test]
    fn dat_ids_are_split_on_whitespace_and_checked() {
        let baskets = collect("1 2 3 \n4\t5\n", BasketFormat::Dat).unwrap();
        assert_eq!(baskets, vec![vec!["1", "2", "3"], vec!["4", "5"]]);
        let err = collect("1 2\n3 x\n", BasketFormat::Dat).unwrap_err();
        assert!(matches!(err, BasketError::NotAnId { line: 2, .. }));
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            BasketFormat::from_path(Path::new("r.dat")),
            BasketFormat::Dat
        );
        assert_eq!(
            BasketFormat::from_path(Path::new("g.csv")),
            BasketFormat::Csv
        );
    }
}
