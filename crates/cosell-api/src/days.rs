//! Calendar days (`2026-10-31`) in queries, bodies and on the command line (`cosell settle
//! --as-of`, `cosell import conversions --settle-as-of`): a date-time or any other shape is
//! refused saying what is expected, instead of the date parser's "trailing input" or
//! "input contains invalid characters".

use chrono::NaiveDate;
use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// A calendar day, or what a client or an operator should write instead:
/// `#[arg(value_parser = cosell_api::days::parse_day)]` on the command line.
pub fn parse_day(text: &str) -> Result<NaiveDate, String> {
    text.parse()
        .map_err(|_| format!("expected a date such as 2026-10-31, not `{text}`"))
}

/// `#[serde(deserialize_with = "crate::days::day")]`
pub fn day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    parse_day(&String::deserialize(deserializer)?).map_err(D::Error::custom)
}

/// `#[serde(default, deserialize_with = "crate::days::optional_day")]`
pub fn optional_day<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| parse_day(&text).map_err(D::Error::custom))
        .transpose()
}
