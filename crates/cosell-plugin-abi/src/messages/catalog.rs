//! Catalog contributor messages: `catalog.contribute`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Input of `catalog.contribute`. The plugin's own configuration (given to
/// `init`) says where its products come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRequest {
    /// Partner whose catalog receives the products.
    pub owner_partner_id: String,
}

/// Output of `catalog.contribute`: everything to add, plus rows the plugin skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogContribution {
    /// Products to add or update, keyed by `sku`.
    pub products: Vec<ProductRow>,
    /// Typed relations between products of this contribution.
    pub relations: Vec<Relation>,
    /// Source rows that were invalid and skipped, for the operator.
    #[serde(default)]
    pub rejected: Vec<RowError>,
}

/// One product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRow {
    /// The owner's stock-keeping unit, unique within the contribution.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Unit price, a non-negative decimal string.
    #[serde(with = "super::decimal")]
    pub price: Decimal,
    /// ISO 4217 code of `price`.
    pub currency: String,
    /// Product page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// How two products relate, from the point of view of `from_sku`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// Bought together with.
    Complementary,
    /// An add-on for.
    Accessory,
    /// Part of the bundle `to_sku`.
    BundleMember,
    /// An alternative to.
    Competing,
}

/// A directed, typed relation between two products.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// Source product.
    pub from_sku: String,
    /// Target product.
    pub to_sku: String,
    /// Kind of relation.
    pub kind: RelationKind,
}

/// A source row the plugin refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line (CSV) or record (JSON) number in the source.
    pub line: u64,
    /// Why the row was refused.
    pub message: String,
}
