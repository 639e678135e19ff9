//! What the domain knows of plugins: how a partnership names one, why its answer was
//! not used, and how a commission rule's answer is checked and turned into money.
//!
//! Loading and calling plugins is the host's business; here a plugin is only an id.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrors};
use crate::money::Currency;

/// An installed plugin, named by the SHA-256 of its library (the host's plugin id):
/// 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PluginRef(String);

impl PluginRef {
    /// Accepts 64 hex digits in either case; stored lower-case.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(PluginRef(text.to_ascii_lowercase()))
        } else {
            Err(ValidationError::new(
                field,
                "must be a plugin id (the 64 hex digits of its SHA-256)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PluginRef {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        PluginRef::parse("plugin_id", &text)
    }
}

impl From<PluginRef> for String {
    fn from(p: PluginRef) -> Self {
        p.0
    }
}

/// Why a plugin's answer was not used, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackCode {
    /// The plugin is not loaded (removed, or it failed to load at start-up).
    NotLoaded,
    /// An operator disabled it.
    Disabled,
    /// The circuit breaker stopped calls after repeated failures.
    Quarantined,
    /// It does not provide, or was not granted, the capability.
    CapabilityMissing,
    /// The request was larger than the plugin payload limit.
    PayloadTooLarge,
    /// It was being fitted for longer than the call could wait.
    Busy,
    /// It did not answer in time.
    Timeout,
    /// It answered with an error.
    PluginError,
    /// It panicked (and the panic was contained).
    Panic,
    /// Its answer was refused: bad weights, amounts or currency.
    InvalidOutput,
}

/// A plugin's answer that was not used, and why. Stored with the result, so an
/// operator can tell a built-in result that was meant to come from a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    pub code: FallbackCode,
    pub message: String,
}

impl Fallback {
    pub fn new(code: FallbackCode, message: impl Into<String>) -> Self {
        Fallback {
            code,
            message: message.into(),
        }
    }
}

/// The plugin a result was asked of, and whether its answer was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginUse {
    pub plugin: PluginRef,
    /// `None`: the plugin's answer is the result. Otherwise the built-in model or
    /// rule produced it, for this reason.
    pub fallback: Option<Fallback>,
}

/// One amount a commission plugin says the partner is owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLine {
    pub amount: Decimal,
    /// An ISO 4217 code, as the plugin wrote it.
    pub currency: String,
    pub description: String,
}

/// The commission, in minor units of `currency`, of a commission plugin's lines.
///
/// Every line must be non-negative and in `currency`, and together they may not
/// exceed `limit_minor` (the amount the commission is paid on). The total is rounded
/// once, half to even, to the currency's minor units, as the built-in rule does.
pub fn external_commission(
    currency: Currency,
    limit_minor: i64,
    lines: &[ExternalLine],
) -> Result<i64, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut total = Decimal::ZERO;
    for (i, line) in lines.iter().enumerate() {
        if line.amount.is_sign_negative() && !line.amount.is_zero() {
            errors.push(format!("lines[{i}].amount"), "must not be negative");
        }
        if line.currency != currency.code() {
            errors.push(
                format!("lines[{i}].currency"),
                format!("is {}, not the conversion's {currency}", line.currency),
            );
        }
        match total.checked_add(line.amount) {
            Some(sum) => total = sum,
            None => errors.push(format!("lines[{i}].amount"), "total is out of range"),
        }
    }
    errors.into_result()?;
    let rounded = total.round_dp_with_strategy(
        currency.minor_units(),
        RoundingStrategy::MidpointNearestEven,
    );
    let minor = currency
        .to_minor(rounded)
        .map_err(|e| ValidationErrors::from(ValidationError::new("lines", e.message)))?;
    if minor > limit_minor {
        return Err(ValidationError::new(
            "lines",
            format!(
                "total {rounded} {currency} exceeds the {} it is paid on",
                currency.from_minor(limit_minor)
            ),
        )
        .into());
    }
    Ok(minor)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(amount: Decimal, currency: &str) -> ExternalLine {
        ExternalLine {
            amount,
            currency: currency.into(),
            description: String::new(),
        }
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn plugin_refs_are_sha256_hex_kept_lower_case() {
        let upper = "AB".repeat(32);
        assert_eq!(
            PluginRef::parse("p", &upper).unwrap().as_str(),
            "ab".repeat(32)
        );
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(PluginRef::parse("p", bad).unwrap_err().field, "p");
        }
        let json = serde_json::to_string(&PluginRef::parse("p", &upper).unwrap()).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert!(serde_json::from_str::<PluginRef>("\"nope\"").is_err());
    }

    #[test]
    fn lines_sum_to_minor_units_rounded_half_even() {
        let lines = [line(dec!(20.00), "EUR"), line(dec!(42.005), "EUR")];
        // 62.005 → 62.00 (half to even), not 62.01.
        assert_eq!(external_commission(eur(), 100_000, &lines), Ok(6200));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(
            external_commission(jpy, 1_000, &[line(dec!(12.5), "JPY")]),
            Ok(12)
        );
        assert_eq!(external_commission(eur(), 0, &[]), Ok(0));
    }

    #[test]
    fn bad_lines_are_all_reported() {
        let lines = [line(dec!(-1), "EUR"), line(dec!(1), "USD")];
        let fields: Vec<String> = external_commission(eur(), 1_000, &lines)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["lines[0].amount", "lines[1].currency"]);
    }

    #[test]
    fn more_than_the_base_is_refused() {
        let err = external_commission(eur(), 1_000, &[line(dec!(10.01), "EUR")]).unwrap_err();
        assert!(err.0[0].message.contains("exceeds the 10.00"), "{err}");
        assert_eq!(
            external_commission(eur(), 1_000, &[line(dec!(10.00), "EUR")]),
            Ok(1_000)
        );
    }

    proptest! {
        #[test]
        fn accepted_totals_are_within_the_limit_and_half_a_unit_of_the_sum(
            cents in proptest::collection::vec(0i64..1_000_000, 0..6),
            extra in 0i64..10,
            limit in 0i64..10_000_000,
        ) {
            // Amounts with a third decimal place, to exercise rounding.
            let lines: Vec<ExternalLine> = cents
                .iter()
                .map(|c| line(Decimal::new(c * 10 + extra, 3), "EUR"))
                .collect();
            let sum: Decimal = lines.iter().map(|l| l.amount).sum();
            match external_commission(eur(), limit, &lines) {
                Ok(minor) => {
                    prop_assert!(minor >= 0 && minor <= limit);
                    prop_assert!((eur().from_minor(minor) - sum).abs() <= dec!(0.005));
                }
                Err(_) => prop_assert!(sum > eur().from_minor(limit) - dec!(0.005)),
            }
        }
    }
}
