//! Test fixture: panics in `attribute`. The SDK must turn that into a PANIC
//! status and the host must carry on.

use cosell_plugin_sdk::abi::{AttributeRequest, AttributeResponse};
use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin};

/// Panics on every attribution.
pub struct Panicking;

impl Plugin for Panicking {
    type Config = serde::de::IgnoredAny;
    fn init(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Self)
    }
}

impl AttributionModel for Panicking {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        panic!("fixture panics on conversion {}", request.conversion.id)
    }
}

export_plugin!(
    Panicking,
    vendor = "Cosell tests",
    capabilities = [attribution]
);
