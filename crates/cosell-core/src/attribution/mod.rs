//! Attribution: which partners earn credit for a conversion, with which weight, and
//! how much of its amount, exact to the minor unit.

mod decay;
mod eligibility;
mod models;
mod view;

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use eligibility::{
    Conversion, Eligibility, Eligible, Exclusion, ExclusionReason, ImpressionPolicy, PartnerTerms,
    Touchpoint, TouchpointKind, eligibility,
};
pub use models::{AttributionModel, BuiltinModel, HalfLife};
pub use view::OthersShare;

use crate::allocation::{AllocationError, allocate, normalise};
use crate::error::{ValidationError, ValidationErrors};
use crate::ids::PartnerId;

/// The model a result came from, stored with it so old results stay explainable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
}

/// An eligible touchpoint and its share of the conversion (weights sum to 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchpointCredit {
    pub touchpoint_id: Uuid,
    pub partner_id: PartnerId,
    pub weight: Decimal,
}

/// A credited partner: its weight (sum of its touchpoints') and amount in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerCredit {
    pub partner_id: PartnerId,
    pub weight: Decimal,
    pub amount_minor: i64,
}

/// The attribution of one conversion. Partner weights sum to exactly 1 and amounts
/// to exactly the conversion amount, unless nothing was eligible (then both are empty
/// and the merchant keeps the sale uncredited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub conversion_id: Uuid,
    pub model: ModelRef,
    /// Per eligible touchpoint, oldest first. Empty when a plugin weighed partners.
    pub touchpoints: Vec<TouchpointCredit>,
    pub excluded: Vec<Exclusion>,
    /// Partners with a positive weight, by partner id.
    pub partners: Vec<PartnerCredit>,
}

/// Why an attribution could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributionError {
    #[error("model {0} returned {1} weights for {2} touchpoints")]
    WeightCount(String, usize, usize),
    #[error(transparent)]
    Allocation(#[from] AllocationError),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Attributes `conversion` with `model` over the result of [`eligibility`].
///
/// Each touchpoint's raw model weight is multiplied by its impression factor, the
/// products are normalised to 12 places summing to 1, summed per partner, and the
/// amount is split by partner weight with the largest-remainder rule.
pub fn attribute(
    conversion: &Conversion,
    eligibility: Eligibility,
    model: &dyn AttributionModel,
) -> Result<Attribution, AttributionError> {
    let model_ref = ModelRef {
        name: model.name().to_string(),
        version: model.version().to_string(),
    };
    let Eligibility { eligible, excluded } = eligibility;
    if eligible.is_empty() {
        return Ok(empty(conversion, model_ref, excluded));
    }
    let times: Vec<_> = eligible.iter().map(|e| e.touchpoint.occurred_at).collect();
    let raw = model.weigh(conversion.occurred_at, &times);
    if raw.len() != eligible.len() {
        return Err(AttributionError::WeightCount(
            model_ref.name,
            raw.len(),
            eligible.len(),
        ));
    }
    // Keyed by position: ties in the residue go to the older touch, deterministically.
    let factored: Vec<(usize, Decimal)> = raw
        .iter()
        .zip(&eligible)
        .map(|(w, e)| *w * e.factor)
        .enumerate()
        .collect();
    let weights = normalise(&factored)?;
    let touchpoints: Vec<TouchpointCredit> = weights
        .iter()
        .zip(&eligible)
        .map(|((_, w), e)| TouchpointCredit {
            touchpoint_id: e.touchpoint.id,
            partner_id: e.touchpoint.partner_id,
            weight: *w,
        })
        .collect();
    let mut per_partner: BTreeMap<PartnerId, Decimal> = BTreeMap::new();
    for t in &touchpoints {
        *per_partner.entry(t.partner_id).or_default() += t.weight;
    }
    let partners = split(conversion.amount_minor, per_partner)?;
    Ok(Attribution {
        conversion_id: conversion.id,
        model: model_ref,
        touchpoints,
        excluded,
        partners,
    })
}

/// Attributes `conversion` with per-partner weights from an external model (a
/// plugin), after [`validate_partner_weights`].
pub fn attribute_by_partner(
    conversion: &Conversion,
    eligibility: Eligibility,
    model: ModelRef,
    weights: &BTreeMap<PartnerId, Decimal>,
    tolerance: Decimal,
) -> Result<Attribution, AttributionError> {
    let Eligibility { eligible, excluded } = eligibility;
    if eligible.is_empty() {
        return Ok(empty(conversion, model, excluded));
    }
    let allowed: BTreeSet<PartnerId> = eligible.iter().map(|e| e.touchpoint.partner_id).collect();
    let normalised = validate_partner_weights(weights, &allowed, tolerance)?;
    let partners = split(conversion.amount_minor, normalised.into_iter().collect())?;
    Ok(Attribution {
        conversion_id: conversion.id,
        model,
        touchpoints: Vec::new(),
        excluded,
        partners,
    })
}

/// Checks an externally supplied weight per partner: every weight non-negative,
/// every partner eligible, the sum within `tolerance` of 1. Returns the weights
/// normalised to 12 places summing to exactly 1.
pub fn validate_partner_weights(
    weights: &BTreeMap<PartnerId, Decimal>,
    eligible: &BTreeSet<PartnerId>,
    tolerance: Decimal,
) -> Result<Vec<(PartnerId, Decimal)>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for (partner, w) in weights {
        if w.is_sign_negative() && !w.is_zero() {
            errors.push(format!("weights.{partner}"), "must not be negative");
        }
        if !eligible.contains(partner) {
            errors.push(
                format!("weights.{partner}"),
                "partner has no eligible touchpoint",
            );
        }
    }
    let sum: Decimal = weights.values().sum();
    if (sum - Decimal::ONE).abs() > tolerance {
        errors.push("weights", format!("sum to {sum}, not 1 within {tolerance}"));
    }
    errors.into_result()?;
    let pairs: Vec<(PartnerId, Decimal)> = weights.iter().map(|(p, w)| (*p, *w)).collect();
    normalise(&pairs).map_err(|e| ValidationError::new("weights", e.to_string()).into())
}

fn empty(conversion: &Conversion, model: ModelRef, excluded: Vec<Exclusion>) -> Attribution {
    Attribution {
        conversion_id: conversion.id,
        model,
        touchpoints: Vec::new(),
        excluded,
        partners: Vec::new(),
    }
}

/// Amounts per partner by weight; partners with weight 0 are not credited.
fn split(
    total: i64,
    weights: BTreeMap<PartnerId, Decimal>,
) -> Result<Vec<PartnerCredit>, AllocationError> {
    let weights: Vec<(PartnerId, Decimal)> =
        weights.into_iter().filter(|(_, w)| !w.is_zero()).collect();
    let amounts = allocate(total, &weights)?;
    Ok(weights
        .into_iter()
        .zip(amounts)
        .map(|((partner_id, weight), (_, amount_minor))| PartnerCredit {
            partner_id,
            weight,
            amount_minor,
        })
        .collect())
}

#[cfg(test)]
mod tests;
