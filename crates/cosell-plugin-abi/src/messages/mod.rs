//! JSON message schemas for the three capabilities (message API [`crate::API_VERSION`]).
//!
//! Money is a `rust_decimal::Decimal` serialised as a decimal string, never a
//! float; currencies are ISO 4217 codes. Attribution weights are decimals too,
//! so that applying them to money needs no float conversion.

mod attribution;
mod catalog;
mod commission;
pub(crate) mod decimal;
pub(crate) mod timestamp;

pub use attribution::{
    AttributeRequest, AttributeResponse, FitRequest, FitResponse, Journey, PartnerWeight,
    Touchpoint,
};
pub use catalog::{
    CatalogContribution, CatalogRequest, ProductRow, Relation, RelationKind, RowError,
};
pub use commission::{CommissionLine, CommissionRequest, CommissionResponse, PeriodTotals};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A conversion (a sale) as plugins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    /// Cosell's id of the conversion.
    pub id: String,
    /// Sale amount, a non-negative decimal string such as `"120.50"`.
    #[serde(with = "decimal")]
    pub amount: Decimal,
    /// ISO 4217 code of `amount`.
    pub currency: String,
    /// When the conversion happened.
    #[serde(with = "timestamp")]
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}
