//! Commission terms of a partnership and the commission they give for one attributed
//! conversion.
//!
//! Rate precedence, per sale line: the line's category rate, else the tier rate for
//! the partner's attributed revenue in the settlement period, else the base rate,
//! else nothing. A flat fee is added per attributed conversion (times the partner's
//! weight), the cap per conversion applies to the sum, and the result is rounded
//! once, half to even, to the currency's minor units.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::allocation::{AllocationError, allocate};
use crate::catalog;
use crate::error::{ValidationError, ValidationErrors};
use crate::money::{Currency, Money};

/// A rate that applies once the partner's attributed revenue in the settlement
/// period reaches `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub from: Money,
    pub rate: Decimal,
}

/// Commission terms of one partnership. Rates are fractions (0.10 is 10%).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionTerms {
    pub base_rate: Option<Decimal>,
    pub flat: Option<Money>,
    pub category_rates: BTreeMap<String, Decimal>,
    /// Ascending by `from`.
    pub tiers: Vec<Tier>,
    pub cap_per_conversion: Option<Money>,
    /// Days a commission stays pending so a refund can still reverse it.
    pub hold_days: u32,
}

impl CommissionTerms {
    /// The hold period, for [`crate::ledger::Accrual::payable_at`].
    pub fn hold(&self) -> TimeDelta {
        TimeDelta::days(i64::from(self.hold_days))
    }

    /// Checks rates are in [0, 1], tiers strictly ascending in one currency, and
    /// amounts not negative.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let rate_ok = |r: &Decimal| *r >= Decimal::ZERO && *r <= Decimal::ONE;
        if self.base_rate.as_ref().is_some_and(|r| !rate_ok(r)) {
            errors.push("base_rate", "must be between 0 and 1");
        }
        for (category, rate) in &self.category_rates {
            if !rate_ok(rate) {
                errors.push(
                    format!("category_rates.{category}"),
                    "must be between 0 and 1",
                );
            }
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            if !rate_ok(&tier.rate) {
                errors.push(format!("tiers[{i}].rate"), "must be between 0 and 1");
            }
            if let Some(prev) = i.checked_sub(1).and_then(|p| self.tiers.get(p))
                && (prev.from.currency != tier.from.currency
                    || prev.from.amount >= tier.from.amount)
            {
                errors.push(
                    format!("tiers[{i}].from"),
                    "tiers must ascend in one currency",
                );
            }
        }
        for (field, money) in [
            ("flat", &self.flat),
            ("cap_per_conversion", &self.cap_per_conversion),
        ] {
            if money.is_some_and(|m| m.amount.is_sign_negative() && !m.amount.is_zero()) {
                errors.push(field, "must not be negative");
            }
        }
        errors.into_result()
    }
}

/// The partnership's terms as the catalog stores them (percentages 0–100, amounts
/// in the partnership's currency), as fractions and money.
impl From<&catalog::CommissionTerms> for CommissionTerms {
    fn from(t: &catalog::CommissionTerms) -> Self {
        let money = |amount| Money {
            amount,
            currency: t.currency,
        };
        let fraction = |p: Decimal| p / Decimal::ONE_HUNDRED;
        CommissionTerms {
            base_rate: t.percent.map(fraction),
            flat: t.flat.map(money),
            category_rates: t
                .extra
                .category_percent
                .iter()
                .map(|(c, p)| (c.clone(), fraction(*p)))
                .collect(),
            tiers: t
                .extra
                .tiers
                .iter()
                .map(|tier| Tier {
                    from: money(tier.from),
                    rate: fraction(tier.percent),
                })
                .collect(),
            cap_per_conversion: t.extra.cap.map(money),
            // The catalog refuses negative hold periods.
            hold_days: u32::try_from(t.hold_days).unwrap_or(0),
        }
    }
}

/// A sale line's revenue attributed to one partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    pub category: Option<String>,
    pub amount_minor: i64,
}

/// What a commission is computed on: one partner's share of one conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionBase {
    pub currency: Currency,
    /// The partner's attribution weight; scales the flat fee.
    pub weight: Decimal,
    /// The partner's attributed revenue, per sale line (see [`split_over_lines`]).
    pub lines: Vec<SaleLine>,
    /// The partner's attributed revenue in the settlement period, this conversion
    /// included, in minor units: it picks the tier.
    pub period_revenue_minor: i64,
}

/// Which rule set a line's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    Category,
    Tier,
    Base,
    None,
}

/// The commission on one line, before rounding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCommission {
    pub category: Option<String>,
    pub rate: Decimal,
    pub source: RateSource,
    /// In minor units, unrounded.
    pub amount: Decimal,
}

/// A commission and how it was reached, so it can be explained to both partners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commission {
    pub currency: Currency,
    pub lines: Vec<LineCommission>,
    /// The flat fee times the weight, in minor units, unrounded.
    pub flat: Decimal,
    pub capped: bool,
    /// The final amount in minor units.
    pub amount_minor: i64,
}

/// Why a commission cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommissionError {
    #[error("{field} is in {terms}, the conversion in {conversion}")]
    CurrencyMismatch {
        field: &'static str,
        terms: Currency,
        conversion: Currency,
    },
    #[error("commission out of range")]
    Overflow,
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Splits a partner's attributed amount over a conversion's lines in proportion to
/// the lines' amounts (largest remainder, so the parts sum to the attributed amount).
pub fn split_over_lines(
    attributed_minor: i64,
    lines: &[SaleLine],
) -> Result<Vec<SaleLine>, AllocationError> {
    let weights: Vec<(usize, Decimal)> = lines
        .iter()
        .map(|l| Decimal::from(l.amount_minor))
        .enumerate()
        .collect();
    let parts = allocate(attributed_minor, &weights)?;
    Ok(lines
        .iter()
        .zip(parts)
        .map(|(l, (_, amount_minor))| SaleLine {
            category: l.category.clone(),
            amount_minor,
        })
        .collect())
}

/// The commission `terms` give on `base`.
///
/// Rounding is half to even (banker's rounding): over millions of commissions,
/// half-up would add half a minor unit every time a product lands exactly on .5 and
/// systematically overpay referrers; half-even is unbiased.
pub fn commission(
    terms: &CommissionTerms,
    base: &CommissionBase,
) -> Result<Commission, CommissionError> {
    terms.validate()?;
    let currency = base.currency;
    let tier_rate = tier_rate(terms, base)?;
    let lines: Vec<LineCommission> = base
        .lines
        .iter()
        .map(|line| {
            let category = line
                .category
                .as_ref()
                .and_then(|c| terms.category_rates.get(c));
            let (rate, source) = match (category, tier_rate, terms.base_rate) {
                (Some(r), _, _) => (*r, RateSource::Category),
                (None, Some(r), _) => (r, RateSource::Tier),
                (None, None, Some(r)) => (r, RateSource::Base),
                (None, None, None) => (Decimal::ZERO, RateSource::None),
            };
            LineCommission {
                category: line.category.clone(),
                rate,
                source,
                amount: rate * Decimal::from(line.amount_minor),
            }
        })
        .collect();
    let flat = match terms.flat {
        Some(m) => minor(m, "flat", currency)? * base.weight,
        None => Decimal::ZERO,
    };
    let mut total = lines.iter().map(|l| l.amount).sum::<Decimal>() + flat;
    let mut capped = false;
    if let Some(cap) = terms.cap_per_conversion {
        let cap = minor(cap, "cap_per_conversion", currency)?;
        if total > cap {
            total = cap;
            capped = true;
        }
    }
    let amount_minor =
        i64::try_from(total.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven))
            .map_err(|_| CommissionError::Overflow)?;
    Ok(Commission {
        currency,
        lines,
        flat,
        capped,
        amount_minor,
    })
}

/// The rate of the highest tier reached, if any.
fn tier_rate(
    terms: &CommissionTerms,
    base: &CommissionBase,
) -> Result<Option<Decimal>, CommissionError> {
    let mut rate = None;
    for tier in &terms.tiers {
        if minor(tier.from, "tiers", base.currency)? <= Decimal::from(base.period_revenue_minor) {
            rate = Some(tier.rate);
        }
    }
    Ok(rate)
}

/// A money amount of the terms in the conversion's minor units.
fn minor(m: Money, field: &'static str, currency: Currency) -> Result<Decimal, CommissionError> {
    if m.currency != currency {
        return Err(CommissionError::CurrencyMismatch {
            field,
            terms: m.currency,
            conversion: currency,
        });
    }
    currency
        .to_minor(m.amount)
        .map(Decimal::from)
        .map_err(|e: ValidationError| CommissionError::Invalid(e.into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn money(a: Decimal) -> Money {
        Money::new(a, eur()).unwrap()
    }

    fn terms() -> CommissionTerms {
        CommissionTerms {
            base_rate: Some(dec!(0.10)),
            flat: None,
            category_rates: [("books".to_string(), dec!(0.05))].into(),
            tiers: vec![
                Tier {
                    from: money(dec!(1000)),
                    rate: dec!(0.12),
                },
                Tier {
                    from: money(dec!(5000)),
                    rate: dec!(0.15),
                },
            ],
            cap_per_conversion: None,
            hold_days: 30,
        }
    }

    fn base(lines: &[(Option<&str>, i64)], period_revenue_minor: i64) -> CommissionBase {
        CommissionBase {
            currency: eur(),
            weight: dec!(0.5),
            lines: lines
                .iter()
                .map(|(c, a)| SaleLine {
                    category: c.map(str::to_string),
                    amount_minor: *a,
                })
                .collect(),
            period_revenue_minor,
        }
    }

    #[test]
    fn base_rate_below_the_first_tier() {
        // 10% of €123.45 = 1234.5 cents: half to even gives 1234.
        let c = commission(&terms(), &base(&[(None, 12_345)], 50_000)).unwrap();
        assert_eq!(c.amount_minor, 1_234);
        assert_eq!(c.lines[0].source, RateSource::Base);
        // 10% of €123.55 = 1235.5 cents: half to even gives 1236.
        let c = commission(&terms(), &base(&[(None, 12_355)], 50_000)).unwrap();
        assert_eq!(c.amount_minor, 1_236);
    }

    #[test]
    fn tier_over_base_rate() {
        // €1,000 reached: 12% of €123.45 = 1481.4 → 1481; at €5,000: 15% → 1851.75 → 1852.
        let c = commission(&terms(), &base(&[(None, 12_345)], 100_000)).unwrap();
        assert_eq!(
            (c.amount_minor, c.lines[0].source),
            (1_481, RateSource::Tier)
        );
        let c = commission(&terms(), &base(&[(None, 12_345)], 500_000)).unwrap();
        assert_eq!(c.amount_minor, 1_852);
    }

    #[test]
    fn category_over_tier() {
        // Books at 5% even past the top tier: 617.25; the other line at 15%: 300.
        let c = commission(
            &terms(),
            &base(&[(Some("books"), 12_345), (Some("toys"), 2_000)], 500_000),
        )
        .unwrap();
        let sources: Vec<_> = c.lines.iter().map(|l| l.source).collect();
        assert_eq!(sources, vec![RateSource::Category, RateSource::Tier]);
        assert_eq!(c.amount_minor, 917);
    }

    #[test]
    fn flat_fee_scales_with_weight_and_cap_applies_last() {
        let mut t = terms();
        t.flat = Some(money(dec!(2.00)));
        // 10% of 12345 = 1234.5, plus half of 200 = 100: 1334.5 → 1334.
        let c = commission(&t, &base(&[(None, 12_345)], 0)).unwrap();
        assert_eq!((c.amount_minor, c.flat), (1_334, dec!(100)));
        t.cap_per_conversion = Some(money(dec!(10)));
        let c = commission(&t, &base(&[(None, 12_345)], 0)).unwrap();
        assert_eq!((c.amount_minor, c.capped), (1_000, true));
    }

    #[test]
    fn no_rate_no_commission() {
        let t = CommissionTerms {
            base_rate: None,
            tiers: vec![],
            ..terms()
        };
        let c = commission(&t, &base(&[(None, 12_345)], 0)).unwrap();
        assert_eq!((c.amount_minor, c.lines[0].source), (0, RateSource::None));
    }

    #[test]
    fn currencies_never_mix() {
        let mut t = terms();
        t.flat = Some(Money::new(dec!(1), Currency::parse("USD").unwrap()).unwrap());
        let err = commission(&t, &base(&[(None, 100)], 0)).unwrap_err();
        assert!(matches!(
            err,
            CommissionError::CurrencyMismatch { field: "flat", .. }
        ));
    }

    #[test]
    fn catalog_terms_carry_over() {
        let stored =
            catalog::CommissionTerms::parse(Some(dec!(12.5)), Some(dec!(1.50)), "EUR", 30, 14)
                .unwrap();
        let t = CommissionTerms::from(&stored);
        assert_eq!(t.base_rate, Some(dec!(0.125)));
        assert_eq!(t.flat, Some(money(dec!(1.50))));
        assert_eq!(t.hold(), TimeDelta::days(14));
        assert!(t.validate().is_ok());
        let extra = catalog::ExtraTerms {
            category_percent: [("books".to_string(), dec!(5))].into(),
            tiers: vec![catalog::TierPercent {
                from: dec!(1000),
                percent: dec!(15),
            }],
            cap: Some(dec!(20)),
            ..Default::default()
        };
        let t = CommissionTerms::from(&stored.with_extra(extra).unwrap());
        assert_eq!(t.category_rates["books"], dec!(0.05));
        assert_eq!(
            (t.tiers[0].from, t.tiers[0].rate),
            (money(dec!(1000)), dec!(0.15))
        );
        assert_eq!(t.cap_per_conversion, Some(money(dec!(20))));
    }

    #[test]
    fn bad_terms_are_refused() {
        let mut t = terms();
        t.base_rate = Some(dec!(1.5));
        t.tiers.reverse();
        assert_eq!(t.validate().unwrap_err().0.len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn line_split_sums_to_the_attributed_amount(
            attributed in 0_i64..1_000_000_000,
            amounts in proptest::collection::vec(1_i64..10_000_000, 1..8),
        ) {
            let lines: Vec<SaleLine> = amounts
                .iter()
                .map(|a| SaleLine { category: None, amount_minor: *a })
                .collect();
            let split = split_over_lines(attributed, &lines).unwrap();
            proptest::prop_assert_eq!(split.iter().map(|l| l.amount_minor).sum::<i64>(), attributed);
        }
    }

    #[test]
    fn attributed_revenue_splits_over_lines() {
        let lines = [
            SaleLine {
                category: Some("books".into()),
                amount_minor: 2_000,
            },
            SaleLine {
                category: None,
                amount_minor: 1_000,
            },
        ];
        let split = split_over_lines(1_001, &lines).unwrap();
        assert_eq!(
            split.iter().map(|l| l.amount_minor).collect::<Vec<_>>(),
            vec![667, 334]
        );
    }
}
