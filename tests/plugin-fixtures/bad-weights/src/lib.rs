//! Test fixture: answers that overpay. As an attribution model it gives every
//! eligible partner 1.3 ÷ n, so the weights sum to 1.3; as a commission rule it
//! pays every partner it is asked about the whole sale, so three credited
//! partners would be paid three times the sale. The host must reject both.

use cosell_plugin_sdk::abi::{
    AttributeRequest, AttributeResponse, CommissionLine, CommissionRequest, CommissionResponse,
    PartnerWeight,
};
use cosell_plugin_sdk::{AttributionModel, CommissionRule, Plugin, PluginError, export_plugin};
use rust_decimal::Decimal;

/// Over-credits every conversion by 30%, and pays each partner the whole sale.
#[derive(Clone)]
pub struct BadWeights;

impl Plugin for BadWeights {
    type Config = serde::de::IgnoredAny;
    fn init(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Self)
    }
}

impl AttributionModel for BadWeights {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        let mut partners: Vec<&str> = request
            .touchpoints
            .iter()
            .map(|t| t.partner_id.as_str())
            .collect();
        partners.dedup();
        let share = Decimal::new(13, 1) / Decimal::from(partners.len().max(1));
        let weights = partners
            .into_iter()
            .map(|p| PartnerWeight {
                partner_id: p.to_owned(),
                weight: share,
            })
            .collect();
        Ok(AttributeResponse { weights })
    }
}

impl CommissionRule for BadWeights {
    fn compute(&self, request: &CommissionRequest) -> Result<CommissionResponse, PluginError> {
        Ok(CommissionResponse {
            lines: vec![CommissionLine {
                amount: request.conversion.amount,
                currency: request.conversion.currency.clone(),
                description: "the whole sale".into(),
            }],
        })
    }
}

export_plugin!(
    BadWeights,
    vendor = "Cosell tests",
    capabilities = [attribution, commission]
);
