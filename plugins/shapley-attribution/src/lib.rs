//! Shapley attribution: a Cosell attribution-model plugin fitted on journeys.
//!
//! `fit` learns the conversion rate of each coalition of partners; `attribute`
//! credits a conversion by the Shapley values of the partners in its path,
//! exactly up to 12 partners and by sampling orderings above. See `README.md`
//! for a worked example.

mod coalitions;
mod shapley;

pub use shapley::EXACT_LIMIT;

use coalitions::CoalitionRates;
use cosell_plugin_sdk::abi::{
    AttributeRequest, AttributeResponse, FitRequest, FitResponse, PartnerWeight,
};
use cosell_plugin_sdk::log::{Level, log};
use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin};
use rust_decimal::Decimal;
use serde::Deserialize;

/// Decimal places of the weights handed to the host.
const WEIGHT_PLACES: u32 = 12;

/// The plugin's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapleyConfig {
    /// Orderings sampled for paths longer than [`EXACT_LIMIT`] partners.
    #[serde(default = "default_samples")]
    pub samples: u32,
}

fn default_samples() -> u32 {
    2_000
}

/// The model: its configuration and the coalition rates from the last `fit`.
#[derive(Clone)]
pub struct ShapleyAttribution {
    samples: u32,
    rates: CoalitionRates,
}

impl Plugin for ShapleyAttribution {
    type Config = ShapleyConfig;

    /// Starts unfitted: every coalition is worth 0, so credit is split equally
    /// until the first `fit`.
    fn init(config: ShapleyConfig) -> Result<Self, PluginError> {
        if !(1..=1_000_000).contains(&config.samples) {
            return Err(PluginError::bad_config(
                "samples must be between 1 and 1,000,000",
            ));
        }
        Ok(Self {
            samples: config.samples,
            rates: CoalitionRates::default(),
        })
    }
}

impl AttributionModel for ShapleyAttribution {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        let mut players: Vec<&str> = Vec::new();
        for touchpoint in &request.touchpoints {
            if !players.contains(&touchpoint.partner_id.as_str()) {
                players.push(&touchpoint.partner_id);
            }
        }
        if players.is_empty() {
            return Err(PluginError::bad_input(
                "a conversion without touchpoints has no one to credit",
            ));
        }
        let game = self.rates.game(&players);
        let values = shapley::shapley_values(&game, self.samples, seed(&request.conversion.id));
        let weights = to_weights(&values)
            .into_iter()
            .zip(players)
            .map(|(weight, partner)| PartnerWeight {
                partner_id: partner.to_owned(),
                weight,
            })
            .collect();
        Ok(AttributeResponse { weights })
    }

    fn fit(&mut self, request: FitRequest) -> Result<FitResponse, PluginError> {
        self.rates = CoalitionRates::fit(&request.journeys);
        let partners = self.rates.partner_count() as u64;
        let journeys = request.journeys.len() as u64;
        log(
            Level::Info,
            &format!("fitted on {journeys} journeys over {partners} partners"),
        );
        Ok(FitResponse { journeys, partners })
    }
}

/// Shapley values to weights: negative values (a partner whose presence
/// lowered the conversion rate) get nothing, the rest are normalised; with no
/// positive value at all, credit is split equally. Weights are rounded to 12
/// places and the rounding residue goes to the largest, so they sum to exactly 1.
fn to_weights(values: &[f64]) -> Vec<Decimal> {
    let clamped: Vec<f64> = values.iter().map(|v| v.max(0.0)).collect();
    let total: f64 = clamped.iter().sum();
    let shares: Vec<f64> = if total > 0.0 && total.is_finite() {
        clamped.iter().map(|v| v / total).collect()
    } else {
        vec![1.0 / values.len() as f64; values.len()]
    };
    let mut weights: Vec<Decimal> = shares
        .iter()
        .map(|s| {
            Decimal::from_f64_retain(*s)
                .unwrap_or_default()
                .round_dp(WEIGHT_PLACES)
        })
        .collect();
    let residue = Decimal::ONE - weights.iter().sum::<Decimal>();
    if let Some(largest) = weights.iter_mut().max() {
        *largest += residue;
    }
    weights
}

/// FNV-1a of the conversion id: a stable seed, so sampling is reproducible.
fn seed(conversion_id: &str) -> u64 {
    conversion_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

export_plugin!(
    ShapleyAttribution,
    vendor = "Cosell",
    capabilities = [attribution]
);

#[cfg(test)]
mod tests;
