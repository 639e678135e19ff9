//! Partner metrics for a period: what a partner earned as a referrer and how often
//! its own orders carried a credited cross-sell as a merchant. One row per partner
//! and currency, since amounts in different currencies are never added.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::PartnerId;
use crate::money::Currency;
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Decimal places of the rates reported (refund rate, attach rate).
const RATE_SCALE: u32 = 6;

/// One credited partner of a conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub partner_id: PartnerId,
    pub attributed_minor: i64,
    pub commission_minor: i64,
}

/// What metrics need to know about one conversion (the current attribution only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionFacts {
    pub merchant_id: PartnerId,
    pub customer_ref: String,
    pub occurred_at: DateTime<Utc>,
    pub currency: Currency,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub credits: Vec<Credit>,
}

/// A half-open period `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One partner's metrics in one currency for a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerMetrics {
    /// Conversions that credited the partner as a referrer.
    pub conversions: u64,
    /// Sums over any number of conversions: wide, so they never wrap (an i64 holds only
    /// some thousands of the largest amounts accepted). Both are gross of refunds: the
    /// credits as attributed and the commissions as accrued on the whole sale; refunds
    /// show only in `refund_rate`.
    pub attributed_revenue_minor: i128,
    pub commission_minor: i128,
    /// Refunded share of the attributed revenue (refunds apply pro rata to credits).
    pub refund_rate: Option<Decimal>,
    /// Orders of the partner as a merchant.
    pub orders: u64,
    /// Share of those orders with at least one credited cross-sell partner.
    pub attach_rate: Option<Decimal>,
    /// Attributed revenue per distinct customer (a merchant's customer reference), in
    /// major units rounded half to even.
    pub revenue_per_customer: Option<Decimal>,
}

#[derive(Default)]
struct Tally {
    m: PartnerMetrics,
    refunded: Decimal,
    attached: u64,
    /// A customer reference is its merchant's own: another merchant's customer of the
    /// same reference is another customer.
    customers: BTreeSet<(PartnerId, String)>,
}

/// Metrics per (partner, currency) over the conversions that occurred in `period`.
pub fn metrics(
    facts: &[ConversionFacts],
    period: Period,
) -> BTreeMap<(PartnerId, Currency), PartnerMetrics> {
    let mut tallies: BTreeMap<(PartnerId, Currency), Tally> = BTreeMap::new();
    let in_period = facts
        .iter()
        .filter(|f| f.occurred_at >= period.start && f.occurred_at < period.end);
    for f in in_period {
        let merchant = tallies.entry((f.merchant_id, f.currency)).or_default();
        merchant.m.orders += 1;
        if f.credits.iter().any(|c| c.attributed_minor > 0) {
            merchant.attached += 1;
        }
        for c in &f.credits {
            let t = tallies.entry((c.partner_id, f.currency)).or_default();
            t.m.conversions += 1;
            t.m.attributed_revenue_minor += i128::from(c.attributed_minor);
            t.m.commission_minor += i128::from(c.commission_minor);
            if f.amount_minor > 0 {
                t.refunded += Decimal::from(c.attributed_minor) * Decimal::from(f.refunded_minor)
                    / Decimal::from(f.amount_minor);
            }
            t.customers.insert((f.merchant_id, f.customer_ref.clone()));
        }
    }
    tallies
        .into_iter()
        .map(|((partner, currency), t)| {
            let mut m = t.m;
            // `None` (no rate) only past a decimal's 96 bits: see `from_minor_sum`.
            let revenue = Decimal::try_from_i128_with_scale(m.attributed_revenue_minor, 0).ok();
            m.refund_rate = revenue.and_then(|r| ratio(t.refunded, r, RATE_SCALE));
            m.attach_rate = ratio(
                Decimal::from(t.attached),
                Decimal::from(m.orders),
                RATE_SCALE,
            );
            m.revenue_per_customer = currency
                .from_minor_sum(m.attributed_revenue_minor)
                .and_then(|r| ratio(r, Decimal::from(t.customers.len()), currency.minor_units()));
            ((partner, currency), m)
        })
        .collect()
}

/// `num / den` rounded half to even to exactly `scale` places (`0.500000`, not `0.5`:
/// every rate reads the same), or `None` when there is nothing to divide by.
fn ratio(num: Decimal, den: Decimal, scale: u32) -> Option<Decimal> {
    (!den.is_zero()).then(|| {
        let mut r =
            (num / den).round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven);
        r.rescale(scale);
        r
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;
    use uuid::Uuid;

    fn id(n: u128) -> PartnerId {
        PartnerId(Uuid::from_u128(n))
    }

    fn fact(
        day: u32,
        customer: &str,
        amount: i64,
        refunded: i64,
        credits: &[(u128, i64, i64)],
    ) -> ConversionFacts {
        ConversionFacts {
            merchant_id: id(1),
            customer_ref: customer.into(),
            occurred_at: Utc.with_ymd_and_hms(2026, 3, day, 0, 0, 0).unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            amount_minor: amount,
            refunded_minor: refunded,
            credits: credits
                .iter()
                .map(|(p, a, c)| Credit {
                    partner_id: id(*p),
                    attributed_minor: *a,
                    commission_minor: *c,
                })
                .collect(),
        }
    }

    #[test]
    fn referrer_and_merchant_metrics() {
        let facts = [
            fact(2, "ann", 10_000, 5_000, &[(2, 6_000, 600), (3, 4_000, 400)]),
            fact(3, "bob", 3_000, 0, &[(2, 3_000, 300)]),
            fact(4, "ann", 1_000, 0, &[]),
            fact(5, "cy", 2_000, 0, &[(2, 1_000, 100)]),
            // Outside the period.
            fact(20, "dee", 9_999, 0, &[(2, 9_999, 999)]),
        ];
        let eur = Currency::parse("EUR").unwrap();
        let period = Period {
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap(),
        };
        let m = metrics(&facts, period);
        let referrer = &m[&(id(2), eur)];
        assert_eq!(
            (
                referrer.conversions,
                referrer.attributed_revenue_minor,
                referrer.commission_minor
            ),
            (3, 10_000, 1_000)
        );
        // Half of the 6,000 credited on the first order refunded: 3,000 of 10,000.
        assert_eq!(referrer.refund_rate, Some(dec!(0.3)));
        // €100.00 over ann, bob and cy: €33.33.
        assert_eq!(referrer.revenue_per_customer, Some(dec!(33.33)));
        let merchant = &m[&(id(1), eur)];
        assert_eq!(
            (merchant.orders, merchant.attach_rate),
            (4, Some(dec!(0.75)))
        );
        assert_eq!(merchant.refund_rate, None);
    }

    /// Two merchants' customers who share a reference are two customers.
    #[test]
    fn customers_are_counted_per_merchant() {
        let other_shop = ConversionFacts {
            merchant_id: id(9),
            ..fact(3, "ann", 5_000, 0, &[(2, 5_000, 500)])
        };
        let facts = [fact(2, "ann", 10_000, 0, &[(2, 10_000, 1_000)]), other_shop];
        let period = Period {
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap(),
        };
        let eur = Currency::parse("EUR").unwrap();
        let referrer = &metrics(&facts, period)[&(id(2), eur)];
        // €150.00 over shop 1's ann and shop 9's ann.
        assert_eq!(referrer.revenue_per_customer, Some(dec!(75.00)));
    }

    #[test]
    fn rates_have_six_places() {
        let facts = [
            fact(2, "ann", 1_000, 0, &[(2, 1_000, 100)]),
            fact(3, "bob", 1_000, 0, &[]),
        ];
        let period = Period {
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap(),
        };
        let eur = Currency::parse("EUR").unwrap();
        let m = metrics(&facts, period);
        let merchant = &m[&(id(1), eur)];
        assert_eq!(merchant.attach_rate.unwrap().to_string(), "0.500000");
        let referrer = &m[&(id(2), eur)];
        assert_eq!(referrer.refund_rate.unwrap().to_string(), "0.000000");
        assert_eq!(referrer.revenue_per_customer.unwrap().to_string(), "10.00");
    }

    #[test]
    fn sums_near_the_bound_do_not_wrap() {
        // Two sales of the largest amount in a 3-place currency, and more: an i64 sum
        // of 10,000 of them would wrap to a negative figure.
        let max = Currency::parse("BHD").unwrap().max_minor();
        let facts: Vec<ConversionFacts> = (0..10_000)
            .map(|_| ConversionFacts {
                currency: Currency::parse("BHD").unwrap(),
                ..fact(2, "ann", max, 0, &[(2, max, max)])
            })
            .collect();
        let period = Period {
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap(),
        };
        let m = metrics(&facts, period);
        let referrer = &m[&(id(2), Currency::parse("BHD").unwrap())];
        assert_eq!(referrer.attributed_revenue_minor, 10_000 * i128::from(max));
        assert_eq!(referrer.commission_minor, 10_000 * i128::from(max));
        assert_eq!(referrer.refund_rate.unwrap().to_string(), "0.000000");
    }
}
