//! Test fixture: panics where configured. The SDK must turn each panic into a
//! PANIC status, and the host must carry on.
//!
//! Configuration: `null` or `{}` panics in `attribute` (and has no fit step);
//! `{"panic_in": "init"}` panics in `init`; `{"panic_in": "fit"}` answers `attribute` (crediting the
//! partner the last fit favoured, else the first touchpoint) and panics only in
//! `fit`, on a journey through partner `panic`, after taking the journeys before
//! it to heart: a fit that panics half-way through changing the model.

use cosell_plugin_sdk::abi::{
    AttributeRequest, AttributeResponse, FitRequest, FitResponse, PartnerWeight,
};
use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin};
use rust_decimal::Decimal;

/// Where the fixture panics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanicIn {
    /// Every `attribute` call.
    #[default]
    Attribute,
    /// `init`.
    Init,
    /// Only `fit`, on a journey through partner `panic`.
    Fit,
}

/// The configuration.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanicConfig {
    /// Where to panic.
    #[serde(default)]
    pub panic_in: PanicIn,
}

/// Panics where configured.
#[derive(Clone)]
pub struct Panicking {
    panic_in: PanicIn,
    /// The first partner of the last journey fitted on.
    favourite: Option<String>,
}

impl Plugin for Panicking {
    type Config = Option<PanicConfig>;
    fn init(config: Self::Config) -> Result<Self, PluginError> {
        let panic_in = config.unwrap_or_default().panic_in;
        assert!(panic_in != PanicIn::Init, "init panics on purpose");
        Ok(Self {
            panic_in,
            favourite: None,
        })
    }
}

impl AttributionModel for Panicking {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        if self.panic_in == PanicIn::Attribute {
            panic!("fixture panics on conversion {}", request.conversion.id)
        }
        let touched = |p: &str| request.touchpoints.iter().any(|t| t.partner_id == p);
        let partner = match &self.favourite {
            Some(favourite) if touched(favourite) => favourite.clone(),
            _ => request
                .touchpoints
                .first()
                .ok_or_else(|| PluginError::bad_input("no touchpoints"))?
                .partner_id
                .clone(),
        };
        Ok(AttributeResponse {
            weights: vec![PartnerWeight {
                partner_id: partner,
                weight: Decimal::ONE,
            }],
        })
    }

    fn fit(&mut self, request: FitRequest) -> Result<FitResponse, PluginError> {
        // Otherwise no fit step, as before: a background fit that succeeded would
        // reset the breaker that tests of panicking calls count on.
        if self.panic_in != PanicIn::Fit {
            return Err(PluginError::new(
                cosell_plugin_sdk::abi::error_code::UNSUPPORTED,
                "this fixture fits only with panic_in: fit",
            ));
        }
        for journey in &request.journeys {
            assert!(
                !journey.partners.iter().any(|p| p == "panic"),
                "fit panics on purpose"
            );
            self.favourite = journey.partners.first().cloned();
        }
        Ok(FitResponse {
            journeys: request.journeys.len() as u64,
            partners: u64::from(self.favourite.is_some()),
        })
    }
}

export_plugin!(
    Panicking,
    vendor = "Cosell tests",
    capabilities = [attribution]
);
