//! Money: an exact decimal amount in one ISO 4217 currency. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use cosell_iso4217::CURRENCIES;

use crate::error::ValidationError;

/// An ISO 4217 currency code with its number of minor units (JPY 0, EUR 2, BHD 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// The largest amount Cosell accepts as one input amount (a price, a line, a conversion,
/// a flat commission, a cap, a tier threshold, a minimum payout), in major units of any
/// currency. Far above any real sale, and low enough that the minor units of a million
/// such amounts (10^15 each at 3 decimals) still sum inside an i64; sums over more rows
/// than that are checked or widened where they are taken, never left to wrap.
pub const MAX_AMOUNT_MAJOR: i64 = 1_000_000_000_000;

impl Currency {
    /// Parses an upper-case ISO 4217 code Cosell knows.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, minor)| {
                let b = c.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    minor_units: *minor,
                }
            })
            .ok_or_else(|| {
                ValidationError::new(
                    "currency",
                    format!("unknown ISO 4217 currency code '{code}'"),
                )
            })
    }

    pub fn code(&self) -> &str {
        // The code bytes come from the ASCII table of `cosell_iso4217`.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }

    /// True when `amount` has no more decimal places than the currency allows.
    pub fn fits(&self, amount: Decimal) -> bool {
        amount.normalize().scale() <= self.minor_units()
    }

    /// The amount in minor units (cents), refusing amounts finer than the currency allows.
    pub fn to_minor(&self, amount: Decimal) -> Result<i64, ValidationError> {
        if !self.fits(amount) {
            return Err(ValidationError::new(
                "amount",
                format!(
                    "{amount} has more than {} decimal places for {}",
                    self.minor_units,
                    self.code()
                ),
            ));
        }
        let scaled = amount * Decimal::from(10_i64.pow(self.minor_units()));
        i64::try_from(scaled)
            .map_err(|_| ValidationError::new("amount", format!("{amount} is out of range")))
    }

    /// [`MAX_AMOUNT_MAJOR`] in this currency's minor units (at most 10^15).
    pub fn max_minor(&self) -> i64 {
        MAX_AMOUNT_MAJOR * 10_i64.pow(self.minor_units())
    }

    /// An amount given as input, in minor units: refused, naming `field` and what is
    /// wrong, when it is negative, finer than the currency allows or above
    /// [`MAX_AMOUNT_MAJOR`]. The one check for every amount a partner states.
    pub fn parse_amount(&self, field: &str, amount: Decimal) -> Result<i64, ValidationError> {
        if amount < Decimal::ZERO {
            return Err(negative(field, amount));
        }
        if !self.fits(amount) {
            return Err(ValidationError::new(
                field,
                format!(
                    "{amount} has more than {} decimal places for {}",
                    self.minor_units,
                    self.code()
                ),
            ));
        }
        if amount > Decimal::from(MAX_AMOUNT_MAJOR) {
            return Err(ValidationError::new(field, self.over_max_message()));
        }
        self.to_minor(amount)
            .map_err(|e| ValidationError::new(field, e.message))
    }

    /// Why an amount (or a total of amounts) above [`MAX_AMOUNT_MAJOR`] is refused.
    pub fn over_max_message(&self) -> String {
        format!("must be at most {MAX_AMOUNT_MAJOR} {}", self.code())
    }

    /// A sum of minor units, taken wide so it never wraps, as a decimal with the
    /// currency's scale; `None` past a decimal's 96 bits (some 79 trillion of the
    /// largest amounts accepted, so never for real data).
    pub fn from_minor_sum(&self, minor: i128) -> Option<Decimal> {
        Decimal::try_from_i128_with_scale(minor, self.minor_units()).ok()
    }

    /// An amount in minor units back as a decimal with the currency's scale.
    pub fn from_minor(&self, minor: i64) -> Decimal {
        Decimal::new(minor, self.minor_units())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

fn negative(field: &str, amount: Decimal) -> ValidationError {
    ValidationError::new(field, format!("must not be negative, got {amount}"))
}

/// An amount a partner states, checked as [`Currency::parse_amount`] checks it, for a form
/// whose currency may itself be missing or invalid (and reported on its own field): the
/// checks that need no currency still apply.
pub fn parse_amount_in(
    field: &str,
    amount: Decimal,
    currency: Option<Currency>,
) -> Result<Decimal, ValidationError> {
    match currency {
        Some(c) => c.parse_amount(field, amount).map(|_| amount),
        None if amount < Decimal::ZERO => Err(negative(field, amount)),
        None if amount > Decimal::from(MAX_AMOUNT_MAJOR) => Err(ValidationError::new(
            field,
            format!("must be at most {MAX_AMOUNT_MAJOR}"),
        )),
        None => Ok(amount),
    }
}

/// An amount in a currency. Construction checks the amount fits the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, ValidationError> {
        if !currency.fits(amount) {
            return Err(ValidationError::new(
                "amount",
                format!(
                    "{amount} has more than {} decimal places for {currency}",
                    currency.minor_units()
                ),
            ));
        }
        Ok(Money { amount, currency })
    }

    pub fn zero(currency: Currency) -> Self {
        Money {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// This amount less `percent` percent, rounded half away from zero to the currency's
    /// minor units, as a till shows a discounted price: the one rule for every discounted
    /// price (a bundle's, an offer's), so the bundle the API prices and the bundle a
    /// recommendation shows cost the same to the cent.
    pub fn less_percent(self, percent: Decimal) -> Money {
        let gross = self.amount * (Decimal::ONE_HUNDRED - percent);
        // Dividing by 100 is moving the decimal point: exact, where a Decimal division is
        // a long division (on every offer of every recommendation). Past Decimal's 28
        // places the point cannot move, and the division rounds instead.
        let mut net = gross;
        if net.set_scale(gross.scale() + 2).is_err() {
            net = gross / Decimal::ONE_HUNDRED;
        }
        Money {
            amount: net.round_dp_with_strategy(
                self.currency.minor_units(),
                RoundingStrategy::MidpointAwayFromZero,
            ),
            currency: self.currency,
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn eur(amount: Decimal) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    #[test]
    fn a_discounted_price_rounds_half_cents_up() {
        // 10.10 less 15% is 8.585: a till shows 8.59 (banker's rounding would say 8.58).
        assert_eq!(eur(dec!(10.10)).less_percent(dec!(15)).amount, dec!(8.59));
        assert_eq!(eur(dec!(39.00)).less_percent(dec!(15)).amount, dec!(33.15));
        assert_eq!(eur(dec!(39.00)).less_percent(dec!(100)).amount, dec!(0));
        let yen = Money::new(dec!(999), Currency::parse("JPY").unwrap()).unwrap();
        assert_eq!(yen.less_percent(dec!(50)).amount, dec!(500));
        // A percentage of 27 decimal places: the point cannot move, the division rounds.
        let tiny = Decimal::new(1, 27);
        assert_eq!(eur(dec!(39.00)).less_percent(tiny).amount, dec!(39.00));
    }

    proptest::proptest! {
        /// Moving the decimal point is the division by 100 it replaces, to the cent.
        #[test]
        fn less_percent_is_the_division_by_one_hundred_rounded_half_up(
            cents in 0i64..100_000_000_000,
            basis_points in 0i64..=10_000,
        ) {
            let price = eur(Decimal::new(cents, 2));
            let percent = Decimal::new(basis_points, 2);
            let expected = (price.amount * (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            proptest::prop_assert_eq!(price.less_percent(percent).amount, expected);
        }
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::parse("JPY").map(|c| c.minor_units()), Ok(0));
        assert_eq!(Currency::parse("EUR").map(|c| c.minor_units()), Ok(2));
        assert_eq!(Currency::parse("BHD").map(|c| c.minor_units()), Ok(3));
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("XXX").is_err());
    }

    #[test]
    fn amounts_finer_than_the_currency_are_refused() {
        let jpy = Currency::parse("JPY").unwrap();
        let bhd = Currency::parse("BHD").unwrap();
        assert!(Money::new(dec!(100.5), jpy).is_err());
        assert!(Money::new(dec!(100), jpy).is_ok());
        assert!(Money::new(dec!(1.234), bhd).is_ok());
        assert!(Money::new(dec!(1.2345), bhd).is_err());
        assert!(Money::new(dec!(1.230), Currency::parse("EUR").unwrap()).is_ok());
    }

    #[test]
    fn input_amounts_are_bounded_and_say_what_is_wrong() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(eur.parse_amount("p", dec!(19.99)), Ok(1999));
        assert_eq!(
            eur.parse_amount("p", dec!(1000000000000)),
            Ok(100_000_000_000_000)
        );
        let too_big = eur.parse_amount("p", dec!(1000000000000.01)).unwrap_err();
        assert_eq!(too_big.field, "p");
        assert!(too_big.message.contains("at most 1000000000000 EUR"));
        let fine = eur.parse_amount("p", dec!(1.001)).unwrap_err();
        assert!(fine.message.contains("decimal places"), "{fine}");
        let negative = eur.parse_amount("p", dec!(-5)).unwrap_err();
        assert!(negative.message.contains("negative"), "{negative}");
        // The largest bound in minor units, at 3 decimals, leaves room for sums.
        let bhd = Currency::parse("BHD").unwrap();
        assert_eq!(bhd.max_minor(), 1_000_000_000_000_000);
    }

    #[test]
    fn minor_unit_round_trip() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(eur.to_minor(dec!(12.34)), Ok(1234));
        assert_eq!(eur.from_minor(1234), dec!(12.34));
        let bhd = Currency::parse("BHD").unwrap();
        assert_eq!(bhd.to_minor(dec!(1.5)), Ok(1500));
    }
}
