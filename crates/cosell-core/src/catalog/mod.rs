//! The co-selling catalog: partners, products, relations, bundles, partnerships and offers.

pub mod bundle;
pub mod offer;
pub mod partner;
pub mod partnership;
pub mod product;
pub mod relation;

pub use bundle::{Bundle, BundleItem, BundleTerms, MarginInputs};
pub use offer::{Channel, Offer, OfferStatus, OfferTerms};
pub use partner::{Email, Partner, PartnerStatus, Slug};
pub use partnership::{CommissionTerms, ExtraTerms, Partnership, PartnershipStatus, TierPercent};
pub use product::{Product, ProductFields};
pub use relation::{Relation, RelationKind};

use rust_decimal::Decimal;

use crate::ValidationError;

/// Parses a percentage in [0, 100] for `field`.
pub fn parse_percent(field: &str, value: Decimal) -> Result<Decimal, ValidationError> {
    if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        return Err(ValidationError::new(
            field,
            format!("must be between 0 and 100, got {value}"),
        ));
    }
    Ok(value.normalize())
}

/// Parses a required, trimmed, bounded text field.
pub fn parse_text(field: &str, value: &str, max_len: usize) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_len {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_len} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}
