//! Attribution model messages: `attribution.attribute` and the optional `attribution.fit`.

use super::Conversion;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Input of `attribution.attribute`: one conversion and its eligible touchpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeRequest {
    /// The conversion to credit.
    pub conversion: Conversion,
    /// Touchpoints of eligible partners, oldest first. Only these partners may
    /// receive credit.
    pub touchpoints: Vec<Touchpoint>,
}

/// One partner's contact with the customer before the conversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touchpoint {
    /// The partner that made the contact.
    pub partner_id: String,
    /// When it happened.
    #[serde(with = "super::timestamp")]
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Output of `attribution.attribute`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeResponse {
    /// One entry per credited partner; weights are non-negative and sum to 1
    /// (the host allows 1e-9 of rounding).
    pub weights: Vec<PartnerWeight>,
}

/// A partner's share of a conversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerWeight {
    /// An eligible partner from the request.
    pub partner_id: String,
    /// Share in `[0, 1]`, a decimal string.
    #[serde(with = "super::decimal")]
    pub weight: Decimal,
}

/// Input of `attribution.fit`: the journeys of a window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitRequest {
    /// One journey per customer.
    pub journeys: Vec<Journey>,
}

/// The partners that touched one customer, in order, and whether it converted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journey {
    /// Partner ids in touch order; repeats allowed.
    pub partners: Vec<String>,
    /// Whether the journey ended in a conversion.
    pub converted: bool,
}

/// Output of `attribution.fit`: a summary for the operator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitResponse {
    /// Journeys used.
    pub journeys: u64,
    /// Distinct partners seen.
    pub partners: u64,
}
