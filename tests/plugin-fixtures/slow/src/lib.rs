//! Test fixture: sleeps in `attribute` for as long as configured, then
//! credits the first partner. The host must time out and, after repeats,
//! quarantine it. Its `fit` sleeps too (`fit_sleep_ms`), so a test can call
//! `attribute` while a fit holds the plugin.

use cosell_plugin_sdk::abi::{
    AttributeRequest, AttributeResponse, FitRequest, FitResponse, PartnerWeight,
};
use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin};
use rust_decimal::Decimal;
use std::time::Duration;

/// Configuration: how long each call sleeps.
#[derive(serde::Deserialize)]
pub struct SlowConfig {
    /// Milliseconds to sleep per `attribute` call.
    pub sleep_ms: u64,
    /// Milliseconds to sleep per `fit` call (default 0).
    #[serde(default)]
    pub fit_sleep_ms: u64,
}

/// Sleeps, then answers correctly.
pub struct Slow {
    attribute: Duration,
    fit: Duration,
}

impl Plugin for Slow {
    type Config = SlowConfig;
    fn init(config: SlowConfig) -> Result<Self, PluginError> {
        Ok(Self {
            attribute: Duration::from_millis(config.sleep_ms),
            fit: Duration::from_millis(config.fit_sleep_ms),
        })
    }
}

impl AttributionModel for Slow {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        std::thread::sleep(self.attribute);
        let first = request
            .touchpoints
            .first()
            .ok_or_else(|| PluginError::bad_input("no touchpoints"))?;
        let weight = PartnerWeight {
            partner_id: first.partner_id.clone(),
            weight: Decimal::ONE,
        };
        Ok(AttributeResponse {
            weights: vec![weight],
        })
    }

    fn fit(&mut self, request: FitRequest) -> Result<FitResponse, PluginError> {
        std::thread::sleep(self.fit);
        Ok(FitResponse {
            journeys: request.journeys.len() as u64,
            partners: 0,
        })
    }
}

export_plugin!(Slow, vendor = "Cosell tests", capabilities = [attribution]);
