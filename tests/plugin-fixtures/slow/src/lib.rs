//! Test fixture: sleeps in `attribute` for as long as configured, then
//! credits the first partner. The host must time out and, after repeats,
//! quarantine it.

use cosell_plugin_sdk::abi::{AttributeRequest, AttributeResponse, PartnerWeight};
use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin};
use rust_decimal::Decimal;
use std::time::Duration;

/// Configuration: how long each call sleeps.
#[derive(serde::Deserialize)]
pub struct SlowConfig {
    /// Milliseconds to sleep per call.
    pub sleep_ms: u64,
}

/// Sleeps, then answers correctly.
pub struct Slow(Duration);

impl Plugin for Slow {
    type Config = SlowConfig;
    fn init(config: SlowConfig) -> Result<Self, PluginError> {
        Ok(Self(Duration::from_millis(config.sleep_ms)))
    }
}

impl AttributionModel for Slow {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        std::thread::sleep(self.0);
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
}

export_plugin!(Slow, vendor = "Cosell tests", capabilities = [attribution]);
