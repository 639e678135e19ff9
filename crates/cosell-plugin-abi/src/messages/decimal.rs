//! Decimal strings for the messages, written and read without `rust_decimal`'s
//! string code on the common path. Its formatter divides the 96-bit mantissa
//! by ten once per digit (about 800 instructions for a 12-place weight, the
//! larger half of serialising an attribution response); its parser takes
//! about 300 per weight. The strings are the same (`Decimal::to_string`,
//! trailing zeros kept); anything beyond the plain form is `rust_decimal`'s.

use rust_decimal::Decimal;
use serde::Serializer;
use serde::de::{Deserialize, Deserializer, IntoDeserializer, Visitor};
use std::fmt::{self, Write as _};

/// Writes `value` exactly as `Decimal::to_string` does.
pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(format(value).as_str())
}

/// Reads what `rust_decimal`'s own `Deserialize` reads (decimal strings,
/// scientific strings, JSON numbers), with the same results and errors.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(DecimalVisitor)
}

/// The text of a decimal, on the stack.
pub(crate) struct DecimalText {
    /// Longest form: sign, "0.", 28 fraction digits; or sign, 29 digits, point.
    bytes: [u8; 40],
    len: usize,
}

impl DecimalText {
    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// ASCII digits, '-' and '.'.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, '-' and '.' are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for DecimalText {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.len + text.len() > self.bytes.len() {
            return Err(fmt::Error);
        }
        self.push(text.as_bytes());
        Ok(())
    }
}

/// `value` as `Decimal::to_string` writes it.
pub(crate) fn format(value: &Decimal) -> DecimalText {
    let mut out = DecimalText {
        bytes: [0; 40],
        len: 0,
    };
    // Mantissas beyond u64 (more than 19 digits) are rare; leave them to rust_decimal.
    let Ok(magnitude) = u64::try_from(value.mantissa().unsigned_abs()) else {
        // Cannot fail: the longest decimal fits the buffer.
        let _ = write!(out, "{value}");
        return out;
    };
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(magnitude).as_bytes();
    let scale = value.scale() as usize;
    if value.is_sign_negative() {
        out.push(b"-");
    }
    if scale == 0 {
        out.push(digits);
    } else if digits.len() <= scale {
        out.push(b"0.");
        out.push(&[b'0'; 28][..scale - digits.len()]);
        out.push(digits);
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.push(whole);
        out.push(b".");
        out.push(fraction);
    }
    out
}

/// Reads `-?[0-9]+(\.[0-9]+)?` with at most 19 digits, except a negative
/// zero: the form [`format`] writes for all but huge values. `None` for anything
/// else, valid or not; the caller then asks rust_decimal, so this only ever
/// decides the common case faster.
pub(crate) fn parse_plain(text: &str) -> Option<Decimal> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.len() > 20 {
        return None;
    }
    let mut mantissa = 0u64;
    let mut point = None;
    for (at, &byte) in digits.iter().enumerate() {
        if byte.is_ascii_digit() {
            // 20 digits may wrap; such input is refused below.
            mantissa = mantissa
                .wrapping_mul(10)
                .wrapping_add(u64::from(byte - b'0'));
        } else if byte == b'.' && point.is_none() {
            point = Some(at);
        } else {
            return None;
        }
    }
    let scale = match point {
        // Digits on both sides of the point, at most 19 in all.
        Some(at) if at > 0 && at + 1 < digits.len() => digits.len() - at - 1,
        None if !digits.is_empty() && digits.len() <= 19 => 0,
        _ => return None,
    };
    // rust_decimal keeps the sign of a negative zero; leave that to it.
    if mantissa == 0 && negative {
        return None;
    }
    let mantissa = i64::try_from(mantissa).ok()?;
    Some(Decimal::new(
        if negative { -mantissa } else { mantissa },
        u32::try_from(scale).ok()?,
    ))
}

/// Plain decimal strings are read here; everything else is handed to
/// `rust_decimal`'s own `Deserialize`, so results and errors stay its own.
struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // rust_decimal's words, so that errors read the same as before.
        f.write_str("a Decimal type representing a fixed-point number")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Decimal, E> {
        match parse_plain(text) {
            Some(value) => Ok(value),
            None => <Decimal as Deserialize>::deserialize(text.into_deserializer()),
        }
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Decimal, E> {
        <Decimal as Deserialize>::deserialize(value.into_deserializer())
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Decimal, E> {
        <Decimal as Deserialize>::deserialize(value.into_deserializer())
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Decimal, E> {
        <Decimal as Deserialize>::deserialize(value.into_deserializer())
    }
}

#[cfg(test)]
pub(crate) mod tests;
