//! The hand-written codec of `attribution.attribute`, the call made once per
//! conversion. The field names below are the serde names of the message
//! types; the tests check byte for byte that this writes what serde_json
//! writes and reads what serde_json reads.

use super::Message;
use super::canonical::{Reader, write_decimal, write_list, write_str, write_timestamp};
use crate::{AttributeRequest, AttributeResponse, Conversion, PartnerWeight, Touchpoint};

impl Message for AttributeRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let conversion = &self.conversion;
        out.extend_from_slice(br#"{"conversion":{"id":"#);
        write_str(out, &conversion.id)?;
        out.extend_from_slice(br#","amount":"#);
        write_decimal(out, &conversion.amount);
        out.extend_from_slice(br#","currency":"#);
        write_str(out, &conversion.currency)?;
        out.extend_from_slice(br#","occurred_at":"#);
        write_timestamp(out, &conversion.occurred_at);
        out.extend_from_slice(br#"},"touchpoints":"#);
        write_partner_list(out, &self.touchpoints, PartnerList::TOUCHPOINTS)
    }

    fn read_written(text: &str) -> Option<Self> {
        let mut reader = Reader::new(text);
        let conversion = Conversion {
            id: reader.after(r#"{"conversion":{"id":"#)?.owned_string()?,
            amount: reader.after(r#","amount":"#)?.decimal()?,
            currency: reader.after(r#","currency":"#)?.owned_string()?,
            occurred_at: reader.after(r#","occurred_at":"#)?.timestamp()?,
        };
        reader.after(r#"},"touchpoints":"#)?;
        let touchpoints = read_partner_list(&mut reader, PartnerList::TOUCHPOINTS)?;
        Some(Self {
            conversion,
            touchpoints,
        })
    }
}

impl Message for AttributeResponse {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(br#"{"weights":"#);
        write_partner_list(out, &self.weights, PartnerList::WEIGHTS)
    }

    fn read_written(text: &str) -> Option<Self> {
        let mut reader = Reader::new(text);
        reader.after(r#"{"weights":"#)?;
        let weights = read_partner_list(&mut reader, PartnerList::WEIGHTS)?;
        Some(Self { weights })
    }
}

/// Both messages end in a list of `{"partner_id":"…","<key>":<value>}`
/// entries (touchpoints, weights); how to write and read one kind.
struct PartnerList<T, V> {
    /// `,"<key>":`, between the partner id and the value.
    key: &'static str,
    partner_id: fn(&T) -> &str,
    write_value: fn(&mut Vec<u8>, &T),
    read_value: fn(&mut Reader<'_>) -> Option<V>,
    entry: fn(String, V) -> T,
}

impl PartnerList<Touchpoint, chrono::DateTime<chrono::Utc>> {
    const TOUCHPOINTS: Self = Self {
        key: r#","at":"#,
        partner_id: |touchpoint| &touchpoint.partner_id,
        write_value: |out, touchpoint| write_timestamp(out, &touchpoint.at),
        read_value: |reader| reader.timestamp(),
        entry: |partner_id, at| Touchpoint { partner_id, at },
    };
}

impl PartnerList<PartnerWeight, rust_decimal::Decimal> {
    const WEIGHTS: Self = Self {
        key: r#","weight":"#,
        partner_id: |weight| &weight.partner_id,
        write_value: |out, weight| write_decimal(out, &weight.weight),
        read_value: |reader| reader.decimal(),
        entry: |partner_id, weight| PartnerWeight { partner_id, weight },
    };
}

/// Writes the entries and the message's closing brace.
fn write_partner_list<T, V>(
    out: &mut Vec<u8>,
    entries: &[T],
    list: PartnerList<T, V>,
) -> serde_json::Result<()> {
    write_list(out, entries, |out, entry| {
        out.extend_from_slice(br#"{"partner_id":"#);
        write_str(out, (list.partner_id)(entry))?;
        out.extend_from_slice(list.key.as_bytes());
        (list.write_value)(out, entry);
        out.push(b'}');
        Ok(())
    })?;
    out.push(b'}');
    Ok(())
}

/// Reads what [`write_partner_list`] writes, up to the end of the input.
fn read_partner_list<T, V>(reader: &mut Reader<'_>, list: PartnerList<T, V>) -> Option<Vec<T>> {
    let entries = reader.list(|reader| {
        let partner_id = reader.after(r#"{"partner_id":"#)?.owned_string()?;
        let value = (list.read_value)(reader.after(list.key)?)?;
        reader.after("}").map(|_| (list.entry)(partner_id, value))
    })?;
    reader.after("}")?.end().map(|()| entries)
}

#[cfg(test)]
mod tests;
