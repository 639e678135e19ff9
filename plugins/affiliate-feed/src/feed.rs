//! Reading a feed file into raw rows tagged with their line (CSV) or record (JSON) number.

use serde::Deserialize;

/// One feed row as written by the affiliate, before validation.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    /// The affiliate's product code.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Unit price as written; must parse as a non-negative decimal.
    pub price: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Product page, if any.
    #[serde(default)]
    pub url: Option<String>,
    /// SKUs bought together with this one.
    #[serde(default)]
    pub complements: Vec<String>,
    /// SKUs that are add-ons for this one.
    #[serde(default)]
    pub accessories: Vec<String>,
}

/// A parsed row, or why the row could not even be read.
pub type Numbered = (u64, Result<RawRow, String>);

/// Feed file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Header `sku,name,price,currency,url,complements,accessories`; list
    /// columns separate SKUs with `|`.
    Csv,
    /// An array of objects with the same fields; lists are JSON arrays.
    Json,
}

/// Same fields as [`RawRow`], with the list columns as `|`-separated text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    sku: String,
    name: String,
    price: String,
    currency: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    complements: String,
    #[serde(default)]
    accessories: String,
}

fn split_skus(text: &str) -> Vec<String> {
    text.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses CSV text; each row carries the line it starts on (the header is line 1).
pub fn parse_csv(text: &str) -> Result<Vec<Numbered>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("unreadable CSV header: {e}"))?
        .clone();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let row = record
                    .deserialize::<CsvRow>(Some(&headers))
                    .map_err(|e| e.to_string());
                rows.push((line, row.map(RawRow::from)));
            }
            // A malformed record (bad quoting, invalid UTF-8) is reported and skipped.
            Err(e) => rows.push((line, Err(e.to_string()))),
        }
    }
    Ok(rows)
}

impl From<CsvRow> for RawRow {
    fn from(row: CsvRow) -> Self {
        Self {
            sku: row.sku,
            name: row.name,
            price: row.price,
            currency: row.currency,
            url: Some(row.url).filter(|u| !u.is_empty()),
            complements: split_skus(&row.complements),
            accessories: split_skus(&row.accessories),
        }
    }
}

/// Parses a JSON array; each row carries its 1-based record number.
pub fn parse_json(text: &str) -> Result<Vec<Numbered>, String> {
    let values: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("the feed is not a JSON array: {e}"))?;
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            (
                index as u64 + 1,
                serde_json::from_value(value).map_err(|e| e.to_string()),
            )
        })
        .collect())
}
