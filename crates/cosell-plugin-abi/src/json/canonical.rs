//! Pieces of the hand-written codec: strings as serde_json writes them, and
//! a reader that accepts only that exact layout.

use crate::messages::{decimal, timestamp};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Whether serde_json writes `byte` escaped inside a string.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it.
pub(super) fn write_str(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    if text.bytes().any(needs_escape) {
        return serde_json::to_writer(out, text);
    }
    write_plain(out, text.as_bytes());
    Ok(())
}

/// Appends UTF-8 that needs no escaping (digits, separators) as a JSON string.
fn write_plain(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text);
    out.push(b'"');
}

/// Appends a decimal string, as `messages::decimal` serialises it.
pub(super) fn write_decimal(out: &mut Vec<u8>, value: &Decimal) {
    write_plain(out, decimal::format(value).as_bytes());
}

/// Appends a timestamp string, as `messages::timestamp` serialises it.
pub(super) fn write_timestamp(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    write_plain(out, timestamp::format(at).as_bytes());
}

/// Appends `[item,item,…]`, each item written by `write_item`.
pub(super) fn write_list<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut write_item: impl FnMut(&mut Vec<u8>, &T) -> serde_json::Result<()>,
) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_item(out, item)?;
    }
    out.push(b']');
    Ok(())
}

/// Reads JSON laid out exactly as written above. Every method answers
/// `None` on the first difference; the caller then leaves the whole input
/// to serde_json.
pub(super) struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.at..).unwrap_or_default()
    }

    /// Consumes `literal`, which must come next; the reader, to read on.
    pub(super) fn after(&mut self, literal: &str) -> Option<&mut Self> {
        self.next_is(literal).then_some(self)
    }

    /// Consumes `literal` if it comes next.
    fn next_is(&mut self, literal: &str) -> bool {
        let found = self.rest().starts_with(literal.as_bytes());
        if found {
            self.at += literal.len();
        }
        found
    }

    /// A string without escapes or control characters (serde_json reads
    /// those); borrowed from the input.
    pub(super) fn string(&mut self) -> Option<&'a str> {
        self.after("\"")?;
        let len = self.rest().iter().position(|&byte| needs_escape(byte))?;
        let start = self.at;
        // The input is a `str` and the stop is an ASCII byte, so this is a
        // character boundary; `get` checks it anyway.
        let content = self.text.get(start..start + len)?;
        self.at += len;
        self.after("\"").map(|_| content)
    }

    /// [`Reader::string`], owned.
    pub(super) fn owned_string(&mut self) -> Option<String> {
        self.string().map(str::to_owned)
    }

    /// A decimal string in the plain form `messages::decimal` writes.
    pub(super) fn decimal(&mut self) -> Option<Decimal> {
        decimal::parse_plain(self.string()?)
    }

    /// A timestamp string in the form `messages::timestamp` writes.
    pub(super) fn timestamp(&mut self) -> Option<DateTime<Utc>> {
        timestamp::parse_written(self.string()?.as_bytes())
    }

    /// `[item,item,…]`, each item read by `read_item`.
    pub(super) fn list<T>(
        &mut self,
        mut read_item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.after("[")?;
        let mut items = Vec::new();
        if self.next_is("]") {
            return Some(items);
        }
        loop {
            items.push(read_item(self)?);
            if self.next_is("]") {
                return Some(items);
            }
            self.after(",")?;
        }
    }

    /// Succeeds when the whole input has been read.
    pub(super) fn end(&self) -> Option<()> {
        self.rest().is_empty().then_some(())
    }
}
