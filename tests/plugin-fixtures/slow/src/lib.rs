//! Test fixture: sleeps in `attribute` for as long as configured, then
//! credits the first partner (the last with `credit_last`, so that a test can
//! tell two configurations apart). The host must time out and, after repeats,
//! quarantine it. Its `fit` sleeps too (`fit_sleep_ms`), so a test can call
//! `attribute` while a fit holds the plugin, and so does `init`
//! (`init_sleep_ms`), so a test can time a reconfiguration out.

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
    /// Milliseconds `init` sleeps before building the instance (default 0).
    #[serde(default)]
    pub init_sleep_ms: u64,
    /// Credit the last touchpoint's partner instead of the first (default false).
    #[serde(default)]
    pub credit_last: bool,
}

/// Sleeps, then answers correctly.
#[derive(Clone)]
pub struct Slow {
    attribute: Duration,
    fit: Duration,
    credit_last: bool,
}

impl Plugin for Slow {
    type Config = SlowConfig;
    fn init(config: SlowConfig) -> Result<Self, PluginError> {
        std::thread::sleep(Duration::from_millis(config.init_sleep_ms));
        Ok(Self {
            attribute: Duration::from_millis(config.sleep_ms),
            fit: Duration::from_millis(config.fit_sleep_ms),
            credit_last: config.credit_last,
        })
    }
}

impl AttributionModel for Slow {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        std::thread::sleep(self.attribute);
        let credited = if self.credit_last {
            request.touchpoints.last()
        } else {
            request.touchpoints.first()
        }
        .ok_or_else(|| PluginError::bad_input("no touchpoints"))?;
        let weight = PartnerWeight {
            partner_id: credited.partner_id.clone(),
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
