//! RFC 3339 UTC timestamps for the messages, written and read without
//! chrono's general-purpose formatter: it took about half of the JSON time of
//! an attribution call (six timestamps each way).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserializer, Serializer};

/// Writes `2026-03-01T12:00:00Z`, with a fraction (trailing zeros trimmed)
/// when there are sub-second nanoseconds.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut out = Ascii::default();
    // Years outside 0..=9999 have no RFC 3339 form; the parser refuses them.
    out.digits(u32::try_from(at.year()).unwrap_or(0), 4);
    out.byte(b'-');
    out.digits(at.month(), 2);
    out.byte(b'-');
    out.digits(at.day(), 2);
    out.byte(b'T');
    out.digits(at.hour(), 2);
    out.byte(b':');
    out.digits(at.minute(), 2);
    out.byte(b':');
    out.digits(at.second(), 2);
    // chrono encodes a leap second as nanoseconds above 10^9; it is written
    // as the last second of the minute plus the fraction.
    let mut nanos = at.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let mut digits = 9;
        while nanos.is_multiple_of(10) {
            nanos /= 10;
            digits -= 1;
        }
        out.byte(b'.');
        out.digits(nanos, digits);
    }
    out.byte(b'Z');
    serializer.serialize_str(out.as_str())
}

/// A fixed buffer long enough for the longest timestamp written above.
#[derive(Default)]
struct Ascii {
    bytes: [u8; 32],
    len: usize,
}

impl Ascii {
    fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` zero-padded to exactly `count` digits (higher digits dropped).
    fn digits(&mut self, value: u32, count: u32) {
        for power in (0..count).rev() {
            // `% 10` keeps the digit in 0..=9, so the cast cannot truncate.
            self.byte(b'0' + ((value / 10u32.pow(power)) % 10) as u8);
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// Reads any RFC 3339 timestamp (any offset) as UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339)
}

/// Accepts borrowed and transient strings alike, without allocating.
struct Rfc3339;

impl serde::de::Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct At(#[serde(with = "super")] DateTime<Utc>);

    #[test]
    fn round_trips_and_matches_rfc_3339() -> Result<(), serde_json::Error> {
        for (input, written) in [
            ("\"2026-03-01T12:00:00Z\"", "\"2026-03-01T12:00:00Z\""),
            (
                "\"2026-03-01T12:00:00.120Z\"",
                "\"2026-03-01T12:00:00.12Z\"",
            ),
            (
                "\"2026-03-01T12:00:00.000000001Z\"",
                "\"2026-03-01T12:00:00.000000001Z\"",
            ),
            ("\"2026-03-01T14:30:05+02:00\"", "\"2026-03-01T12:30:05Z\""),
            ("\"0999-12-31T23:59:59Z\"", "\"0999-12-31T23:59:59Z\""),
        ] {
            let at: At = serde_json::from_str(input)?;
            assert_eq!(serde_json::to_string(&at)?, written);
            let expected: DateTime<Utc> = serde_json::from_str(input)?;
            assert_eq!(at.0, expected);
        }
        assert!(serde_json::from_str::<At>("\"yesterday\"").is_err());
        let value = serde_json::json!("2026-03-01T12:00:00Z");
        assert_eq!(
            serde_json::from_value::<At>(value)?,
            serde_json::from_str::<At>("\"2026-03-01T12:00:00Z\"")?
        );
        Ok(())
    }
}
