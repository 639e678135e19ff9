//! The store's plugin hooks over the plugin host: attribution and commission plugins
//! called through [`PluginRegistry`] (timeout, limits, validation, breaker), their
//! messages built from the store's domain types, and every `CallError` turned into
//! the recorded reason for falling back.

use cosell_core::attribution::{Conversion, ModelRef};
use cosell_core::plugin::{ExternalLine, Fallback, FallbackCode, PluginRef};
use cosell_plugin_abi::{
    AttributeRequest, CommissionRequest, Conversion as AbiConversion, PeriodTotals, Touchpoint,
};
use cosell_plugin_host::{CallError, PluginId, PluginRegistry, Sha256Hex};
use cosell_store::hooks::{
    AttributeInput, CommissionInput, Hooks, PluginCommission, PluginWeights,
};

/// Attribution and commission plugins as the store calls them.
#[derive(Debug, Clone)]
pub struct PluginHooks {
    registry: PluginRegistry,
}

impl PluginHooks {
    pub fn new(registry: PluginRegistry) -> Self {
        Self { registry }
    }

    /// The loaded plugin and its name and version, stored as the model or rule used.
    fn loaded(&self, plugin: &PluginRef) -> Result<(PluginId, ModelRef), Fallback> {
        let id = Sha256Hex::parse(plugin.as_str())
            .map_err(|e| Fallback::new(FallbackCode::NotLoaded, e.to_string()))?;
        let info = self
            .registry
            .info(&id)
            .ok_or_else(|| fallback(CallError::NotFound(id.clone())))?;
        let model = ModelRef {
            name: info.manifest.name,
            version: info.manifest.version,
        };
        Ok((id, model))
    }
}

/// Why a call's answer cannot be used, with a stable code.
pub(crate) fn fallback(error: CallError) -> Fallback {
    let code = match &error {
        CallError::NotFound(_) => FallbackCode::NotLoaded,
        CallError::Disabled(_) => FallbackCode::Disabled,
        CallError::Quarantined { .. } => FallbackCode::Quarantined,
        CallError::NoCapability { .. } => FallbackCode::CapabilityMissing,
        CallError::PayloadTooLarge { .. } => FallbackCode::PayloadTooLarge,
        CallError::Busy { .. } => FallbackCode::Busy,
        CallError::Timeout(_) => FallbackCode::Timeout,
        CallError::Plugin(_) => FallbackCode::PluginError,
        CallError::Panic(_) => FallbackCode::Panic,
        CallError::InvalidOutput(_) => FallbackCode::InvalidOutput,
    };
    Fallback::new(code, error.to_string())
}

fn abi_conversion(c: &Conversion) -> AbiConversion {
    AbiConversion {
        id: c.id.to_string(),
        amount: c.currency.from_minor(c.amount_minor),
        currency: c.currency.code().to_owned(),
        occurred_at: c.occurred_at,
    }
}

fn invalid(message: impl Into<String>) -> Fallback {
    Fallback::new(FallbackCode::InvalidOutput, message)
}

#[async_trait::async_trait]
impl Hooks for PluginHooks {
    async fn attribute(
        &self,
        plugin: &PluginRef,
        input: AttributeInput<'_>,
    ) -> Result<PluginWeights, Fallback> {
        let (id, model) = self.loaded(plugin)?;
        let request = AttributeRequest {
            conversion: abi_conversion(input.conversion),
            touchpoints: input
                .touchpoints
                .iter()
                .map(|e| Touchpoint {
                    partner_id: e.touchpoint.partner_id.to_string(),
                    at: e.touchpoint.occurred_at,
                })
                .collect(),
        };
        let response = self
            .registry
            .call_attribution(&id, &request)
            .await
            .map_err(fallback)?;
        let weights = response
            .weights
            .into_iter()
            .map(|w| {
                let partner = w
                    .partner_id
                    .parse()
                    .map_err(|_| invalid(format!("partner id {} is not a uuid", w.partner_id)))?;
                Ok((partner, w.weight))
            })
            .collect::<Result<_, Fallback>>()?;
        Ok(PluginWeights {
            model,
            weights,
            tolerance: self.registry.config().weight_tolerance,
        })
    }

    async fn commission(
        &self,
        plugin: &PluginRef,
        input: CommissionInput<'_>,
    ) -> Result<PluginCommission, Fallback> {
        let (id, rule) = self.loaded(plugin)?;
        let currency = input.conversion.currency;
        let request = CommissionRequest {
            conversion: abi_conversion(input.conversion),
            partner_id: input.partner.to_string(),
            weight: input.weight,
            attributed_amount: currency.from_minor(input.attributed_minor),
            period: PeriodTotals {
                attributed_revenue: currency.from_minor(input.period_revenue_minor),
                conversions: input.period_conversions,
            },
        };
        let response = self
            .registry
            .call_commission(&id, &request)
            .await
            .map_err(fallback)?;
        let lines = response
            .lines
            .into_iter()
            .map(|l| ExternalLine {
                amount: l.amount,
                currency: l.currency,
                description: l.description,
            })
            .collect();
        Ok(PluginCommission { rule, lines })
    }
}
