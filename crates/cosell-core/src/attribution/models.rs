//! The built-in attribution models: how much raw weight each eligible touchpoint gets.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::decay::half_life_weight;
use crate::error::ValidationError;

/// An attribution model: gives each eligible touchpoint a raw, non-negative weight.
/// The caller normalises them, so only their ratios matter.
///
/// Implement it to add a model; a model from a plugin that only knows partners goes
/// through [`super::attribute_by_partner`] instead.
pub trait AttributionModel {
    /// The stable name stored with every result, e.g. `time_decay`.
    fn name(&self) -> &str;
    /// Bumped whenever the same input could yield different weights.
    fn version(&self) -> &str;
    /// One raw weight per touchpoint time, given oldest first, for a conversion at
    /// `converted_at`. At least one weight must be positive.
    fn weigh(&self, converted_at: DateTime<Utc>, touched_at: &[DateTime<Utc>]) -> Vec<Decimal>;
}

/// The models Cosell ships, as chosen per partnership or merchant default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model")]
pub enum BuiltinModel {
    LastTouch,
    FirstTouch,
    Linear,
    TimeDecay { half_life: HalfLife },
    PositionBased,
}

/// The age at which a touch's weight halves. Positive; 7 days unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct HalfLife(TimeDelta);

impl HalfLife {
    /// A half-life of at least one second.
    pub fn new(d: TimeDelta) -> Result<Self, ValidationError> {
        if d < TimeDelta::seconds(1) {
            return Err(ValidationError::new(
                "half_life",
                "must be at least one second",
            ));
        }
        Ok(HalfLife(d))
    }
}

impl Default for HalfLife {
    fn default() -> Self {
        HalfLife(TimeDelta::days(7))
    }
}

impl HalfLife {
    /// The longest half-life a partner may set, in seconds: ten years (3,650 days), far
    /// beyond any attribution window (at most 365 days), so nothing useful is refused.
    pub const MAX_SECONDS: i64 = 3_650 * 86_400;

    /// A half-life given in seconds by a partner: 1 second to [`Self::MAX_SECONDS`].
    pub fn parse_seconds(seconds: i64) -> Result<Self, ValidationError> {
        if !(1..=Self::MAX_SECONDS).contains(&seconds) {
            return Err(ValidationError::new(
                "half_life",
                format!(
                    "must be between 1 and {} seconds (3650 days)",
                    Self::MAX_SECONDS
                ),
            ));
        }
        HalfLife::try_from(seconds)
    }
}

/// Stored and sent as whole seconds. Reading is lenient about the upper bound (a stored
/// value stays readable), but never panics: `TimeDelta::seconds` does past ±2^63 ms.
impl TryFrom<i64> for HalfLife {
    type Error = ValidationError;
    fn try_from(seconds: i64) -> Result<Self, Self::Error> {
        let d = TimeDelta::try_seconds(seconds)
            .ok_or_else(|| ValidationError::new("half_life", "is out of range"))?;
        HalfLife::new(d)
    }
}

impl From<HalfLife> for i64 {
    fn from(h: HalfLife) -> Self {
        h.0.num_seconds()
    }
}

impl AttributionModel for BuiltinModel {
    fn name(&self) -> &str {
        match self {
            BuiltinModel::LastTouch => "last_touch",
            BuiltinModel::FirstTouch => "first_touch",
            BuiltinModel::Linear => "linear",
            BuiltinModel::TimeDecay { .. } => "time_decay",
            BuiltinModel::PositionBased => "position_based",
        }
    }

    fn version(&self) -> &str {
        "1"
    }

    fn weigh(&self, converted_at: DateTime<Utc>, touched_at: &[DateTime<Utc>]) -> Vec<Decimal> {
        let n = touched_at.len();
        let only = |pick: usize| -> Vec<Decimal> {
            (0..n)
                .map(|i| {
                    if i == pick {
                        Decimal::ONE
                    } else {
                        Decimal::ZERO
                    }
                })
                .collect()
        };
        match self {
            BuiltinModel::LastTouch => only(n.saturating_sub(1)),
            BuiltinModel::FirstTouch => only(0),
            BuiltinModel::Linear => vec![Decimal::ONE; n],
            BuiltinModel::TimeDecay { half_life } => {
                time_decay(converted_at, touched_at, half_life.0)
            }
            BuiltinModel::PositionBased => position_based(n),
        }
    }
}

/// 40% first, 40% last, 20% shared by the middle; one touch 100%, two 50/50.
/// Kept in exact hundredths so the shares add up without a residue.
fn position_based(n: usize) -> Vec<Decimal> {
    match n {
        0 => vec![],
        1 => vec![Decimal::ONE],
        2 => vec![Decimal::ONE, Decimal::ONE],
        _ => {
            let middle = Decimal::new(20, 2) / Decimal::from(n - 2);
            (0..n)
                .map(|i| {
                    if i == 0 || i == n - 1 {
                        Decimal::new(40, 2)
                    } else {
                        middle
                    }
                })
                .collect()
        }
    }
}

/// Weight `0.5^(Δ / half_life)` with Δ a touch's age relative to the newest touch
/// (only ratios matter, and measuring from the newest keeps the largest weight
/// from underflowing for old conversions). See [`half_life_weight`] for precision.
fn time_decay(
    converted_at: DateTime<Utc>,
    touched_at: &[DateTime<Utc>],
    half_life: TimeDelta,
) -> Vec<Decimal> {
    let newest = touched_at.iter().max().copied().unwrap_or(converted_at);
    let h = half_life.num_seconds();
    touched_at
        .iter()
        .map(|t| half_life_weight((newest - *t).num_seconds(), h))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn position_based_shapes() {
        assert_eq!(position_based(1), vec![dec!(1)]);
        assert_eq!(position_based(2), vec![dec!(1), dec!(1)]);
        assert_eq!(
            position_based(4),
            vec![dec!(0.4), dec!(0.1), dec!(0.1), dec!(0.4)]
        );
    }

    #[test]
    fn time_decay_halves_every_half_life() {
        let m = BuiltinModel::TimeDecay {
            half_life: HalfLife::default(),
        };
        let w = m.weigh(day(20), &[day(1), day(6), day(13), day(20)]);
        // 7 days older: exactly half; 14: a quarter; 19: 0.5^(19/7) = 0.152…
        assert_eq!(w[2] / w[3], dec!(0.5));
        assert_eq!(w[1] / w[3], dec!(0.25));
        assert!((w[0] / w[3] - dec!(0.1523767067755594301139613753)).abs() < dec!(1e-17));
    }

    #[test]
    fn half_life_must_be_positive_and_serialises_as_seconds() {
        assert!(HalfLife::new(TimeDelta::zero()).is_err());
        let m = BuiltinModel::TimeDecay {
            half_life: HalfLife::default(),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"model":"time_decay","half_life":604800}"#);
        assert_eq!(serde_json::from_str::<BuiltinModel>(&json).unwrap(), m);
        assert!(
            serde_json::from_str::<BuiltinModel>(r#"{"model":"time_decay","half_life":0}"#)
                .is_err()
        );
    }

    #[test]
    fn a_half_life_out_of_range_is_refused_not_a_panic() {
        for seconds in [i64::MAX, i64::MIN, HalfLife::MAX_SECONDS + 1, 0, -1] {
            assert!(HalfLife::parse_seconds(seconds).is_err(), "{seconds}");
        }
        assert!(HalfLife::try_from(i64::MAX).is_err());
        assert!(HalfLife::parse_seconds(HalfLife::MAX_SECONDS).is_ok());
        assert!(HalfLife::parse_seconds(1).is_ok());
    }
}
