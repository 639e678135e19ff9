//! Tiered commission: a Cosell commission-rule plugin.
//!
//! Rates depend on the partner's attributed revenue in the settlement period
//! (for example 5% up to 10,000 and 7% above), applied marginally or to the
//! whole amount as configured. See `README.md`.

mod tiers;

pub use tiers::{Mode, Tier, TieredCommission, TiersConfig};

use cosell_plugin_sdk::abi::{CommissionRequest, CommissionResponse};
use cosell_plugin_sdk::{CommissionRule, Plugin, PluginError, export_plugin};

impl Plugin for TieredCommission {
    type Config = TiersConfig;

    fn init(config: TiersConfig) -> Result<Self, PluginError> {
        Self::new(config).map_err(PluginError::bad_config)
    }
}

impl CommissionRule for TieredCommission {
    fn compute(&self, request: &CommissionRequest) -> Result<CommissionResponse, PluginError> {
        self.lines(request).map_err(PluginError::bad_input)
    }
}

export_plugin!(
    TieredCommission,
    vendor = "Cosell",
    capabilities = [commission]
);
