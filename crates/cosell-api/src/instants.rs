//! Instants in bodies (`2026-10-31T09:30:00Z`): a day without a time, or a time without
//! its offset, is refused saying what is expected, instead of the date-time parser's bare
//! "premature end of input". What is accepted is exactly what chrono's own `Deserialize`
//! accepts (RFC 3339, any offset, converted to UTC). `cosell import` reads its JSON Lines
//! with these too, so a file and a request are refused alike.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use serde::de::{Error, Visitor};
use serde::{Deserialize, Deserializer};

/// What a client should send, in every refusal.
const EXPECTED: &str = "a date and time with its offset, such as 2026-10-31T09:30:00Z";

struct Instant(DateTime<Utc>);

struct InstantVisitor;

impl Visitor<'_> for InstantVisitor {
    type Value = Instant;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(EXPECTED)
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<Instant, E> {
        text.parse::<DateTime<FixedOffset>>()
            .map(|at| Instant(at.with_timezone(&Utc)))
            .map_err(|_| E::custom(format!("expected {EXPECTED}, not `{text}`")))
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(InstantVisitor)
    }
}

/// `#[serde(deserialize_with = "cosell_api::instants::instant")]`
pub fn instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    Instant::deserialize(deserializer).map(|at| at.0)
}

/// `#[serde(default, deserialize_with = "cosell_api::instants::optional_instant")]`
pub fn optional_instant<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<Instant>::deserialize(deserializer).map(|at| at.map(|at| at.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "instant")]
        at: DateTime<Utc>,
        #[serde(default, deserialize_with = "optional_instant")]
        until: Option<DateTime<Utc>>,
    }

    fn refusal(json: &str) -> String {
        match serde_json::from_str::<Body>(json) {
            Ok(body) => panic!("accepted {json}: {body:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn accepts_what_chrono_accepts() {
        let body: Body =
            serde_json::from_str(r#"{"at":"2026-10-31T10:30:00+01:00","until":null}"#).unwrap();
        assert_eq!(body.at.to_rfc3339(), "2026-10-31T09:30:00+00:00");
        assert_eq!(body.until, None);
        let body: Body =
            serde_json::from_str(r#"{"at":"2026-10-31T09:30:00Z","until":"2026-11-01T00:00:00Z"}"#)
                .unwrap();
        assert!(body.until.is_some());
    }

    #[test]
    fn a_day_or_a_time_without_offset_says_what_is_expected() {
        for text in ["2026-10-31", "2026-10-31T09:30:00", "soon"] {
            let message = refusal(&format!(r#"{{"at":"{text}"}}"#));
            assert!(
                message.contains("such as 2026-10-31T09:30:00Z") && message.contains(text),
                "{message}"
            );
        }
        let message = refusal(r#"{"at":"2026-10-31T09:30:00Z","until":"2026-11-01"}"#);
        assert!(
            message.contains("such as 2026-10-31T09:30:00Z"),
            "{message}"
        );
        let message = refusal(r#"{"at":1700000000}"#);
        assert!(
            message.contains("such as 2026-10-31T09:30:00Z"),
            "{message}"
        );
    }
}
