//! The attribution model and impression policy as clients send and read them, shared by
//! partnerships (per partnership) and merchants (their default), and how a result
//! says which plugin it was asked of.

use cosell_core::attribution::{BuiltinModel, HalfLife, ImpressionPolicy, ModelRef};
use cosell_core::plugin::{PluginRef, PluginUse};
use cosell_core::{ValidationError, ValidationErrors};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An attribution model: a built-in one, or an attribution plugin with a built-in
/// model as its fallback.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelChoice {
    /// last_touch, first_touch, linear, time_decay or position_based; with
    /// `plugin_id`, the model used whenever the plugin cannot answer.
    #[schema(example = "time_decay")]
    pub model: String,
    /// time_decay only: the age at which a touch's weight halves, in seconds, 1 to
    /// 315360000 (3650 days); default 604800, seven days.
    pub half_life_seconds: Option<i64>,
    /// An installed, enabled attribution plugin (its SHA-256) that weighs the
    /// partners instead of `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_id: Option<String>,
}

impl ModelChoice {
    /// This choice with its plugin, if any.
    pub fn with_plugin(mut self, plugin: Option<&PluginRef>) -> Self {
        self.plugin_id = plugin.map(ToString::to_string);
        self
    }

    /// The plugin named, if any. `field` is where the choice sits in the request body
    /// (`attribution_model` in a partnership's), or `""` when it is the body itself.
    pub fn plugin(&self, field: &str) -> Result<Option<PluginRef>, ValidationErrors> {
        self.plugin_id
            .as_deref()
            .map(|id| PluginRef::parse(&path(field, "plugin_id"), id))
            .transpose()
            .map_err(ValidationErrors::from)
    }

    /// The built-in model chosen; `field` as for [`ModelChoice::plugin`].
    pub fn parse(&self, field: &str) -> Result<BuiltinModel, ValidationErrors> {
        let half_life = match self.half_life_seconds {
            Some(s) => HalfLife::parse_seconds(s)
                .map_err(|e| ValidationError::new(path(field, "half_life_seconds"), e.message))?,
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
                    path(field, "model"),
                    format!("unknown model '{other}'"),
                )
                .into());
            }
        })
    }
}

/// A field's path in the request body: `name` inside `field`, or `name` alone when the
/// choice is the whole body (so an error names a field the client sent).
fn path(field: &str, name: &str) -> String {
    if field.is_empty() {
        name.to_owned()
    } else {
        format!("{field}.{name}")
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
            plugin_id: None,
        }
    }
}

/// How a partnership counts impressions.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
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

/// Why a plugin's answer was not used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FallbackDto {
    /// not_loaded, disabled, quarantined, capability_missing, payload_too_large, busy
    /// (being fitted), timeout, plugin_error, panic or invalid_output.
    pub code: String,
    pub message: String,
}

/// The plugin a result was asked of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginUseDto {
    pub plugin_id: String,
    /// Whether the plugin's answer is the result; when not, the built-in model (or the
    /// partnership's terms) produced it, for the reason in `fallback`.
    pub used: bool,
    pub fallback: Option<FallbackDto>,
}

impl From<PluginUse> for PluginUseDto {
    fn from(u: PluginUse) -> Self {
        PluginUseDto {
            plugin_id: u.plugin.to_string(),
            used: u.fallback.is_none(),
            fallback: u.fallback.map(|f| FallbackDto {
                code: wire_name(f.code),
                message: f.message,
            }),
        }
    }
}

/// A unit enum's serialised (snake_case) name.
pub fn wire_name(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The commission rule of a credit as clients read it: the plugin's name and version,
/// or `partnership_terms` version `1`.
pub fn commission_rule(rule: Option<ModelRef>) -> (String, String) {
    rule.map_or_else(
        || ("partnership_terms".to_owned(), "1".to_owned()),
        |r| (r.name, r.version),
    )
}
