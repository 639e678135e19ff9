use super::*;
use proptest::prelude::*;
use std::str::FromStr;

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Amount(#[serde(with = "super")] Decimal);

fn written(value: Decimal) -> String {
    serde_json::to_string(&Amount(value)).unwrap_or_else(|e| panic!("{e}"))
}

/// What rust_decimal's own `Deserialize` makes of `json`, as text (errors included).
fn rust_decimal_reads(json: &str) -> Result<(Decimal, bool, u32), String> {
    serde_json::from_str::<Decimal>(json)
        .map(|d| (d, d.is_sign_negative(), d.scale()))
        .map_err(|e| e.to_string())
}

fn we_read(json: &str) -> Result<(Decimal, bool, u32), String> {
    serde_json::from_str::<Amount>(json)
        .map(|Amount(d)| (d, d.is_sign_negative(), d.scale()))
        .map_err(|e| e.to_string())
}

#[test]
fn writes_what_rust_decimal_writes() {
    for (value, expected) in [
        (Decimal::new(12000, 2), "\"120.00\""),
        (Decimal::new(312_345_678_901, 12), "\"0.312345678901\""),
        (Decimal::new(5, 3), "\"0.005\""),
        (Decimal::new(-5, 3), "\"-0.005\""),
        (Decimal::new(0, 2), "\"0.00\""),
        (Decimal::new(0, 0), "\"0\""),
        (Decimal::new(7, 0), "\"7\""),
        (Decimal::MAX, "\"79228162514264337593543950335\""),
        (Decimal::MIN, "\"-79228162514264337593543950335\""),
        (
            Decimal::from_i128_with_scale(-1, 28),
            "\"-0.0000000000000000000000000001\"",
        ),
        (
            Decimal::from_i128_with_scale(i128::from(u64::MAX) + 1, 28),
            "\"0.0000000018446744073709551616\"",
        ),
    ] {
        assert_eq!(written(value), expected);
        assert_eq!(written(value), format!("\"{value}\""));
    }
    // A negative zero, which `Decimal::from_parts` would normalise away.
    let negative_zero = -Decimal::new(0, 2);
    assert_eq!(written(negative_zero), format!("\"{negative_zero}\""));
}

#[test]
fn reads_what_rust_decimal_reads_with_its_errors() {
    for json in [
        "\"120.00\"",
        "\"-0.005\"",
        "\"-0.00\"",
        "\"007.50\"",
        "\"1.\"",
        "\".5\"",
        "\"+1.5\"",
        "\"1_000.5\"",
        "\"1e3\"",
        "\"12345678901234567890.5\"",
        "\"0.12345678901234567890123456789\"",
        "\"abc\"",
        "\"\"",
        "\"-\"",
        "12",
        "-12",
        "0.25",
        "true",
        "null",
    ] {
        assert_eq!(we_read(json), rust_decimal_reads(json), "{json}");
    }
    assert!(we_read("\"abc\"").is_err());
}

/// Any decimal: every mantissa (up to 96 bits), sign and scale.
pub(crate) fn any_decimal() -> impl Strategy<Value = Decimal> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        0..=28u32,
    )
        .prop_map(|(lo, mid, hi, negative, scale)| {
            Decimal::from_parts(lo, mid, hi, negative, scale)
        })
}

proptest! {
    #[test]
    fn matches_to_string_and_round_trips(value in any_decimal()) {
        let json = written(value);
        prop_assert_eq!(&json, &format!("\"{value}\""));
        prop_assert_eq!(we_read(&json), rust_decimal_reads(&json));
        prop_assert_eq!(we_read(&json).map(|read| read.0), Ok(value));
    }

    #[test]
    fn matches_to_string_for_u64_mantissas(mantissa in any::<i64>(), scale in 0..=28u32) {
        let value = Decimal::new(mantissa, scale);
        prop_assert_eq!(written(value), format!("\"{value}\""));
    }

    #[test]
    fn plain_form_is_read_as_rust_decimal_reads_it(text in "-?[0-9]{0,12}(\\.[0-9]{0,10})?") {
        let plain = parse_plain(&text).map(|d| (d, d.is_sign_negative(), d.scale()));
        let reference = Decimal::from_str(&text).ok().map(|d| (d, d.is_sign_negative(), d.scale()));
        if plain.is_some() {
            prop_assert_eq!(plain, reference);
        }
        let json = format!("\"{text}\"");
        prop_assert_eq!(we_read(&json), rust_decimal_reads(&json));
    }
}
