//! Typed relations between products, the explicit knowledge cross-selling starts from.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{PartnerId, ProductId, RelationId, ValidationErrors};

/// What one product is to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    Accessory,
    Complementary,
    BundleMember,
    Competing,
    Upgrade,
}

impl RelationKind {
    pub const ALL: [RelationKind; 5] = [
        RelationKind::Accessory,
        RelationKind::Complementary,
        RelationKind::BundleMember,
        RelationKind::Competing,
        RelationKind::Upgrade,
    ];

    /// Symmetric kinds hold both ways: if A competes with B, B competes with A.
    pub fn is_symmetric(self) -> bool {
        matches!(self, RelationKind::Competing | RelationKind::Complementary)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Accessory => "accessory",
            RelationKind::Complementary => "complementary",
            RelationKind::BundleMember => "bundle_member",
            RelationKind::Competing => "competing",
            RelationKind::Upgrade => "upgrade",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RelationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A relation as stored. Symmetric relations are stored once, with the smaller id first,
/// so the uniqueness of (kind, from, to) also covers the reverse direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relation {
    pub id: RelationId,
    pub partner_id: PartnerId,
    pub kind: RelationKind,
    pub from_product_id: ProductId,
    pub to_product_id: ProductId,
    pub weight: Decimal,
    pub created_at: DateTime<Utc>,
}

/// A validated relation to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRelation {
    pub kind: RelationKind,
    pub from_product_id: ProductId,
    pub to_product_id: ProductId,
    pub weight: Decimal,
}

impl NewRelation {
    /// Refuses self-relations and weights outside [0, 1]; orders symmetric pairs canonically.
    pub fn parse(
        kind: RelationKind,
        from: ProductId,
        to: ProductId,
        weight: Decimal,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if from == to {
            errors.push("to_product_id", "a product cannot be related to itself");
        }
        if weight < Decimal::ZERO || weight > Decimal::ONE {
            errors.push("weight", format!("must be between 0 and 1, got {weight}"));
        }
        errors.into_result()?;
        let (from_product_id, to_product_id) = if kind.is_symmetric() && to < from {
            (to, from)
        } else {
            (from, to)
        };
        Ok(NewRelation {
            kind,
            from_product_id,
            to_product_id,
            weight: weight.normalize(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn symmetric_relations_are_stored_in_one_order() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let ab = NewRelation::parse(RelationKind::Competing, a, b, dec!(1)).unwrap();
        let ba = NewRelation::parse(RelationKind::Competing, b, a, dec!(1)).unwrap();
        assert_eq!(
            (ab.from_product_id, ab.to_product_id),
            (ba.from_product_id, ba.to_product_id)
        );
        let directed = NewRelation::parse(RelationKind::Accessory, b, a, dec!(0.5)).unwrap();
        assert_eq!(directed.from_product_id, b);
    }

    #[test]
    fn self_relations_and_bad_weights_are_refused() {
        let a = ProductId::new();
        let errors = NewRelation::parse(RelationKind::Accessory, a, a, dec!(1.5)).unwrap_err();
        assert_eq!(errors.0.len(), 2);
    }
}
