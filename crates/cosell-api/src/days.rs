//! Calendar days in queries and bodies (`2026-10-31`): a date-time or any other shape is
//! refused saying what is expected, instead of the date parser's "trailing input".

use chrono::NaiveDate;
use serde::de::Error;
use serde::{Deserialize, Deserializer};

fn parse<E: Error>(text: &str) -> Result<NaiveDate, E> {
    text.parse()
        .map_err(|_| E::custom(format!("expected a date such as 2026-10-31, not `{text}`")))
}

/// `#[serde(deserialize_with = "crate::days::day")]`
pub fn day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    parse(&String::deserialize(deserializer)?)
}

/// `#[serde(default, deserialize_with = "crate::days::optional_day")]`
pub fn optional_day<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| parse(&text))
        .transpose()
}
