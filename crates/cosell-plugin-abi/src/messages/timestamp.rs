//! RFC 3339 UTC timestamps for the messages, written and read without
//! chrono's general-purpose formatter and parser: with them the six
//! timestamps of an attribution request were more than a third of its JSON
//! time each way. The form written here is read directly; any other RFC 3339
//! form (an offset, a space for `T`, a leap second) goes to chrono's parser.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserializer, Serializer};

/// Writes `2026-03-01T12:00:00Z`, with a fraction (trailing zeros trimmed)
/// when there are sub-second nanoseconds.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(format(at).as_str())
}

/// The text of a timestamp, on the stack.
pub(crate) struct TimestampText {
    bytes: [u8; 30],
    len: usize,
}

impl TimestampText {
    /// ASCII digits and separators.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// `at` in the form [`serialize`] writes.
pub(crate) fn format(at: &DateTime<Utc>) -> TimestampText {
    // `DateTime`'s own getters go through the local time on every call.
    let (date, time) = (at.naive_utc().date(), at.naive_utc().time());
    let mut out = *b"0000-00-00T00:00:00.000000000Z";
    // Years outside 0..=9999 have no RFC 3339 form; the parser refuses them.
    let year = u32::try_from(date.year()).unwrap_or(0);
    write_pair(&mut out, 0, year / 100);
    write_pair(&mut out, 2, year);
    write_pair(&mut out, 5, date.month());
    write_pair(&mut out, 8, date.day());
    let seconds = time.num_seconds_from_midnight();
    write_pair(&mut out, 11, seconds / 3600);
    write_pair(&mut out, 14, seconds / 60 % 60);
    write_pair(&mut out, 17, seconds % 60);
    // chrono encodes a leap second as nanoseconds above 10^9; it is written
    // as the last second of the minute plus the fraction.
    let mut nanos = time.nanosecond() % 1_000_000_000;
    let mut len = 19;
    if nanos != 0 {
        // Trailing zeros of the fraction are trimmed.
        len = 29;
        while nanos % 10 == 0 {
            nanos /= 10;
            len -= 1;
        }
        for digit in out[20..len].iter_mut().rev() {
            *digit = b'0' + (nanos % 10) as u8;
            nanos /= 10;
        }
    }
    out[len] = b'Z';
    TimestampText {
        bytes: out,
        len: len + 1,
    }
}

/// Writes the last two decimal digits of `value` at `out[at..at + 2]`.
fn write_pair(out: &mut [u8; 30], at: usize, value: u32) {
    // Both digits are in 0..=9, so the casts cannot truncate.
    out[at] = b'0' + (value / 10 % 10) as u8;
    out[at + 1] = b'0' + (value % 10) as u8;
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
        match parse_written(text.as_bytes()) {
            Some(at) => Ok(at),
            None => DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(E::custom),
        }
    }
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with 1 to 9 fraction digits, the
/// form [`serialize`] writes. `None` for anything else, valid or not: the
/// caller then asks chrono, so this only ever decides the common case faster.
pub(crate) fn parse_written(text: &[u8]) -> Option<DateTime<Utc>> {
    let (head, rest) = text.split_first_chunk::<19>()?;
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| head[at] != byte) {
        return None;
    }
    let nanos = match rest.strip_suffix(b"Z")? {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let field = |from: usize, to: usize| number(&head[from..to]);
    let year = i32::try_from(field(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, field(5, 7)?, field(8, 10)?)?;
    // A leap second (`:60`) is refused here and read by chrono.
    let time = NaiveTime::from_hms_nano_opt(field(11, 13)?, field(14, 16)?, field(17, 19)?, nanos)?;
    Some(date.and_time(time).and_utc())
}

/// ASCII digits as a number; `None` if any byte is not a digit.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &byte| {
        byte.is_ascii_digit()
            .then(|| n * 10 + u32::from(byte - b'0'))
    })
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

    fn chrono_reads(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    fn we_read(text: &str) -> Option<DateTime<Utc>> {
        serde_json::from_value::<At>(serde_json::Value::from(text))
            .ok()
            .map(|at| at.0)
    }

    #[test]
    fn other_rfc_3339_forms_and_invalid_dates_behave_as_in_chrono() {
        for text in [
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2026-03-01t12:00:00z",
            "2026-03-01 12:00:00Z",
            "2026-03-01T12:00:00.1234567891Z",
            "2026-03-01T12:00:00-00:00",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T12:00:00.Z",
            "2026-03-01T12:00:00",
            "2026-03-01T12:00:0aZ",
            "+2026-03-01T12:00:00Z",
        ] {
            assert_eq!(we_read(text), chrono_reads(text), "{text}");
        }
        assert!(we_read("2016-12-31T23:59:60Z").is_some());
        assert!(we_read("2026-02-30T00:00:00Z").is_none());
    }

    proptest::proptest! {
        #[test]
        fn reads_like_chrono(
            text in "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,11})?Z?"
        ) {
            proptest::prop_assert_eq!(we_read(&text), chrono_reads(&text));
        }

        #[test]
        fn round_trips(seconds in 0i64..253_402_300_800, nanos in 0u32..1_000_000_000) {
            let at = DateTime::from_timestamp(seconds, nanos).unwrap_or_default();
            let json = serde_json::to_string(&At(at)).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(we_read(json.trim_matches('"')), Some(at));
            proptest::prop_assert_eq!(chrono_reads(json.trim_matches('"')), Some(at));
        }
    }
}
