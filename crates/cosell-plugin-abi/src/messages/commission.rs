//! Commission rule messages: `commission.compute`.

use super::Conversion;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Input of `commission.compute`: one partner's share of a conversion and its
/// totals for the settlement period so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionRequest {
    /// The conversion.
    pub conversion: Conversion,
    /// The partner being paid.
    pub partner_id: String,
    /// The partner's attribution weight for this conversion.
    #[serde(with = "super::decimal")]
    pub weight: Decimal,
    /// `conversion.amount × weight`, rounded by the host to the currency's minor unit.
    #[serde(with = "super::decimal")]
    pub attributed_amount: Decimal,
    /// The partner's totals in the period before this conversion.
    pub period: PeriodTotals,
}

/// A partner's attributed totals in the current settlement period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodTotals {
    /// Attributed revenue so far, in the conversion's currency.
    #[serde(with = "super::decimal")]
    pub attributed_revenue: Decimal,
    /// Conversions attributed so far.
    pub conversions: u64,
}

/// Output of `commission.compute`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionResponse {
    /// Lines to pay; the host checks that they are non-negative, in the
    /// conversion's currency and together no more than `attributed_amount`, the
    /// amount credited to this partner.
    pub lines: Vec<CommissionLine>,
}

/// One amount owed to the partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionLine {
    /// Amount, a non-negative decimal string.
    #[serde(with = "super::decimal")]
    pub amount: Decimal,
    /// ISO 4217 code; must equal the conversion's.
    pub currency: String,
    /// Why, for statements (e.g. `"5% of 1000.00 (tier 1)"`).
    pub description: String,
}
