//! The JSON encoding of messages, one implementation for both ends: the host
//! encodes requests and decodes responses with [`encode`] and [`decode`], the
//! SDK the other way round.
//!
//! serde_json reads and writes every message. The attribution messages,
//! sent once per conversion, also have a hand-written codec for the exact
//! bytes serde_json writes for them (`attribution.rs`): writing it directly
//! skips escaping the field names and the digits, and reading it checks the
//! bytes against the expected layout instead of matching field names. Input
//! in any other form (whitespace, another field order, escapes, unknown
//! fields) is simply left to serde_json, so the wire format is plain JSON
//! and any JSON a plugin writes is read as before.

mod attribution;
mod canonical;

use crate::{
    CatalogContribution, CatalogRequest, CommissionRequest, CommissionResponse, FitRequest,
    FitResponse,
};
use serde::Serialize;
use serde::de::{DeserializeOwned, Error as _};

/// Room for a typical attribution or commission message, so that one is
/// written without growing the buffer (`serde_json::to_vec` starts at 128
/// bytes and reallocates twice for a five-touchpoint request).
const INITIAL_CAPACITY: usize = 512;

/// A message of the plugin API: a JSON document either end may send.
pub trait Message: Serialize + DeserializeOwned {
    /// Appends the message's JSON to `out`; the bytes are serde_json's.
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }

    /// Reads the message if `text` is exactly what [`Message::write_json`]
    /// writes for it, `None` otherwise (serde_json then reads it). Only a
    /// shortcut: when it answers, serde_json would have read the same.
    fn read_written(text: &str) -> Option<Self> {
        let _ = text;
        None
    }
}

impl Message for CatalogRequest {}
impl Message for CatalogContribution {}
impl Message for FitRequest {}
impl Message for FitResponse {}
impl Message for CommissionRequest {}
impl Message for CommissionResponse {}

/// Serialises a message.
pub fn encode<T: Message>(message: &T) -> serde_json::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(INITIAL_CAPACITY);
    message.write_json(&mut bytes)?;
    Ok(bytes)
}

/// Parses a message. JSON text is UTF-8 (RFC 8259), so the input is checked
/// once as a whole; `serde_json::from_slice` checks every string it reads on
/// its own, which cost as much as reading the timestamps did.
pub fn decode<T: Message>(bytes: &[u8]) -> serde_json::Result<T> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| serde_json::Error::custom(format_args!("input is not UTF-8: {e}")))?;
    match T::read_written(text) {
        Some(message) => Ok(message),
        None => serde_json::from_str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journey;

    #[test]
    fn decodes_what_it_encodes_and_refuses_bad_utf8() -> serde_json::Result<()> {
        let request = FitRequest {
            journeys: vec![Journey {
                partners: vec!["p1".into(), "ü-partner".into()],
                converted: true,
            }],
        };
        let bytes = encode(&request)?;
        assert_eq!(bytes, serde_json::to_vec(&request)?);
        assert_eq!(decode::<FitRequest>(&bytes)?, request);

        let error = |bytes: &[u8]| decode::<FitRequest>(bytes).err().map(|e| e.to_string());
        assert_eq!(
            error(b"{\"journeys\": [{\"partners\": [\"p\xff\"]}]}").as_deref(),
            Some("input is not UTF-8: invalid utf-8 sequence of 1 bytes from index 30")
        );
        assert_eq!(
            error(b"{\"journeys\": [{\"partners\": []}]}").as_deref(),
            Some("missing field `converted` at line 1 column 30")
        );
        Ok(())
    }
}
