//! The attribution model and impression policy as clients send and read them, shared by
//! partnerships (per partnership) and merchants (their default).

use cosell_core::attribution::{BuiltinModel, HalfLife, ImpressionPolicy};
use cosell_core::{ValidationError, ValidationErrors};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A built-in attribution model.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ModelChoice {
    /// last_touch, first_touch, linear, time_decay or position_based.
    #[schema(example = "time_decay")]
    pub model: String,
    /// time_decay only: the age at which a touch's weight halves, in seconds
    /// (default 604800, seven days).
    pub half_life_seconds: Option<i64>,
}

impl ModelChoice {
    pub fn parse(&self, field: &str) -> Result<BuiltinModel, ValidationErrors> {
        let half_life = match self.half_life_seconds {
            Some(s) => HalfLife::try_from(s).map_err(|e| {
                ValidationError::new(format!("{field}.half_life_seconds"), e.message)
            })?,
            None => HalfLife::default(),
        };
        Ok(match self.model.as_str() {
            "last_touch" => BuiltinModel::LastTouch,
            "first_touch" => BuiltinModel::FirstTouch,
            "linear" => BuiltinModel::Linear,
            "time_decay" => BuiltinModel::TimeDecay { half_life },
            "position_based" => BuiltinModel::PositionBased,
            other => {
                return Err(ValidationError::new(
                    format!("{field}.model"),
                    format!("unknown model '{other}'"),
                )
                .into());
            }
        })
    }
}

impl From<BuiltinModel> for ModelChoice {
    fn from(m: BuiltinModel) -> Self {
        use cosell_core::attribution::AttributionModel;
        ModelChoice {
            model: m.name().to_owned(),
            half_life_seconds: match m {
                BuiltinModel::TimeDecay { half_life } => Some(half_life.into()),
                _ => None,
            },
        }
    }
}

/// How a partnership counts impressions.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ImpressionChoice {
    /// count (like clicks), exclude, or down_weight (times `factor`).
    #[schema(example = "down_weight")]
    pub policy: String,
    /// down_weight only: in (0, 1].
    #[schema(value_type = Option<String>, example = "0.5")]
    pub factor: Option<Decimal>,
}

impl ImpressionChoice {
    pub fn parse(&self) -> Result<ImpressionPolicy, ValidationErrors> {
        match (self.policy.as_str(), self.factor) {
            ("count", None) => Ok(ImpressionPolicy::Count),
            ("exclude", None) => Ok(ImpressionPolicy::Exclude),
            ("down_weight", Some(f)) => Ok(ImpressionPolicy::DownWeight(f)),
            _ => Err(ValidationError::new(
                "impression_policy",
                "count, exclude, or down_weight with a factor",
            )
            .into()),
        }
    }
}

impl From<ImpressionPolicy> for ImpressionChoice {
    fn from(p: ImpressionPolicy) -> Self {
        let (policy, factor) = match p {
            ImpressionPolicy::Count => ("count", None),
            ImpressionPolicy::Exclude => ("exclude", None),
            ImpressionPolicy::DownWeight(f) => ("down_weight", Some(f)),
        };
        ImpressionChoice {
            policy: policy.to_owned(),
            factor,
        }
    }
}
