use super::*;
use crate::json::{decode, encode};
use crate::messages::decimal::tests::any_decimal;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    (
        0i64..253_402_300_800,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
    )
        .prop_map(|(seconds, nanos)| DateTime::from_timestamp(seconds, nanos).unwrap_or_default())
}

fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<i64>(), 0..=19u32).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
        any_decimal(),
    ]
}

/// Mostly plain ids, sometimes with characters serde_json escapes or non-ASCII.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z0-9-]{0,12}", 1 => any::<String>(), 1 => "[\"\\\\\n\u{1}é]{1,3}"]
}

fn request() -> impl Strategy<Value = AttributeRequest> {
    let conversion = (id(), decimal(), id(), timestamp()).prop_map(|parts| Conversion {
        id: parts.0,
        amount: parts.1,
        currency: parts.2,
        occurred_at: parts.3,
    });
    let touchpoint = (id(), timestamp()).prop_map(|(partner_id, at)| Touchpoint { partner_id, at });
    (conversion, prop::collection::vec(touchpoint, 0..7)).prop_map(|(conversion, touchpoints)| {
        AttributeRequest {
            conversion,
            touchpoints,
        }
    })
}

fn response() -> impl Strategy<Value = AttributeResponse> {
    let weight =
        (id(), decimal()).prop_map(|(partner_id, weight)| PartnerWeight { partner_id, weight });
    prop::collection::vec(weight, 0..7).prop_map(|weights| AttributeResponse { weights })
}

/// Writes what serde_json writes, reads it back, and takes the shortcut
/// whenever no string needed escaping and every decimal is plain.
fn check_round_trip<T: Message + PartialEq + std::fmt::Debug>(
    message: &T,
    unusual: bool,
) -> Result<(), TestCaseError> {
    let bytes = encode(message).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let reference = serde_json::to_vec(message).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&reference)
    );
    let decoded = decode::<T>(&bytes).ok();
    prop_assert_eq!(decoded.as_ref(), Some(message));
    let text = std::str::from_utf8(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let shortcut = T::read_written(text);
    if unusual {
        prop_assert!(shortcut.is_none() || shortcut.as_ref() == Some(message));
    } else {
        prop_assert_eq!(shortcut.as_ref(), Some(message));
    }
    Ok(())
}

/// Whether `text` is written with an escape in JSON.
fn escaped(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Whether `value` is outside the plain form (more than 19 digits, negative zero).
fn unusual(value: &Decimal) -> bool {
    crate::messages::decimal::parse_plain(&value.to_string()).is_none()
}

/// Any input decodes to what serde_json makes of it, or fails where it fails.
fn check_like_serde_json<T: Message + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let ours = decode::<T>(bytes).ok();
    let reference = serde_json::from_slice::<T>(bytes).ok();
    prop_assert_eq!(ours, reference, "{}", String::from_utf8_lossy(bytes));
    Ok(())
}

/// One edit of `bytes`: insert, delete or replace a byte at `at`.
fn edited(mut bytes: Vec<u8>, at: usize, edit: u8, byte: u8) -> Vec<u8> {
    let at = at % (bytes.len() + 1);
    match edit % 3 {
        0 => bytes.insert(at, byte),
        1 if at < bytes.len() => {
            bytes.remove(at);
        }
        _ if at < bytes.len() => bytes[at] = byte,
        _ => bytes.push(byte),
    }
    bytes
}

/// Bytes that are likely to matter in JSON, or any byte.
fn edit_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b" \n\"\\,:{}[]0-.Ze".to_vec()),
        any::<u8>()
    ]
}

proptest! {
    #[test]
    fn requests_are_written_and_read_as_serde_json_does(request in request()) {
        let unusual = escaped(&request.conversion.id)
            || escaped(&request.conversion.currency)
            || unusual(&request.conversion.amount)
            || request.touchpoints.iter().any(|t| escaped(&t.partner_id));
        check_round_trip(&request, unusual)?;
    }

    #[test]
    fn responses_are_written_and_read_as_serde_json_does(response in response()) {
        let unusual = response
            .weights
            .iter()
            .any(|w| escaped(&w.partner_id) || unusual(&w.weight));
        check_round_trip(&response, unusual)?;
    }

    #[test]
    fn edited_requests_are_read_as_serde_json_reads_them(
        request in request(), at in any::<usize>(), edit in any::<u8>(), byte in edit_byte()
    ) {
        let bytes = serde_json::to_vec(&request).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_like_serde_json::<AttributeRequest>(&edited(bytes, at, edit, byte))?;
    }

    #[test]
    fn edited_responses_are_read_as_serde_json_reads_them(
        response in response(), at in any::<usize>(), edit in any::<u8>(), byte in edit_byte()
    ) {
        let bytes = serde_json::to_vec(&response).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_like_serde_json::<AttributeResponse>(&edited(bytes, at, edit, byte))?;
    }
}

fn decoded<T: Message>(json: &str) -> T {
    decode(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn read_by_shortcut<T: Message>(json: &str) -> bool {
    T::read_written(json).is_some()
}

fn serde_reads<T: DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

#[test]
fn other_layouts_are_left_to_serde_json() {
    let written =
        r#"{"weights":[{"partner_id":"p1","weight":"0.25"},{"partner_id":"p2","weight":"0.75"}]}"#;
    assert!(read_by_shortcut::<AttributeResponse>(written));
    for json in [
        r#"{ "weights": [{"partner_id": "p1", "weight": "0.25"}, {"partner_id": "p2", "weight": "0.75"}] }"#,
        r#"{"weights":[{"weight":"0.25","partner_id":"p1"},{"partner_id":"p2","weight":"0.75"}]}"#,
        r#"{"weights":[{"partner_id":"p\u0031","weight":"0.25"},{"partner_id":"p2","weight":"0.75"}]}"#,
        r#"{"weights":[{"partner_id":"p1","weight":0.25},{"partner_id":"p2","weight":"0.75"}]}"#,
        r#"{"weights":[{"partner_id":"p1","weight":"2.5e-1"},{"partner_id":"p2","weight":"0.75"}]}"#,
        r#"{"weights":[{"partner_id":"p1","weight":"0.25","note":"x"},{"partner_id":"p2","weight":"0.75"}],"v":2}"#,
        "{\"weights\":[{\"partner_id\":\"p1\",\"weight\":\"0.25\"},{\"partner_id\":\"p2\",\"weight\":\"0.75\"}]}\n",
    ] {
        assert!(!read_by_shortcut::<AttributeResponse>(json), "{json}");
        let response: AttributeResponse = decoded(json);
        assert_eq!(response, serde_reads::<AttributeResponse>(json));
        assert_eq!(response, decoded::<AttributeResponse>(written));
    }
}

#[test]
fn timestamps_with_offsets_and_refused_input_behave_as_in_serde_json() {
    let with_offset = r#"{"conversion":{"id":"c","amount":"1.00","currency":"EUR","occurred_at":"2026-03-01T14:00:00+02:00"},"touchpoints":[{"partner_id":"p1","at":"2026-03-01T12:00:00Z"}]}"#;
    assert!(!read_by_shortcut::<AttributeRequest>(with_offset));
    let request: AttributeRequest = decoded(with_offset);
    assert_eq!(request.conversion.occurred_at, request.touchpoints[0].at);

    for (json, error) in [
        (
            r#"{"conversion":{"id":"c","amount":"1.00","currency":"EUR","occurred_at":"2026-02-30T12:00:00Z"},"touchpoints":[]}"#,
            "input is out of range at line 1 column 93",
        ),
        (
            r#"{"conversion":{"id":"c","amount":"one","currency":"EUR","occurred_at":"2026-03-01T12:00:00Z"},"touchpoints":[]}"#,
            "invalid value: string \"one\", expected a Decimal type representing a fixed-point number at line 1 column 38",
        ),
        (
            r#"{"conversion":{"id":"c","amount":"1.00","currency":"EUR","occurred_at":"2026-03-01T12:00:00Z"}}"#,
            "missing field `touchpoints` at line 1 column 95",
        ),
    ] {
        let ours = decode::<AttributeRequest>(json.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert_eq!(ours.as_deref(), Some(error), "{json}");
        let reference = serde_json::from_str::<AttributeRequest>(json)
            .err()
            .map(|e| e.to_string());
        assert_eq!(ours, reference);
    }
}
