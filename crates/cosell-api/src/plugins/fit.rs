//! Fitting attribution plugins on customer journeys: in the background after an
//! install, an enable or a reconfiguration (a new instance starts unfitted), on a
//! schedule, and on an operator's demand. A request never waits for a scheduled fit.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use cosell_plugin_abi::{Capability, FitRequest, FitResponse, Journey};
use cosell_plugin_host::{PluginId, PluginRegistry, PluginState};
use cosell_store::Store;
use tokio::time::MissedTickBehavior;

use super::PluginOpError;

/// Which journeys a fit sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitSettings {
    /// Customers touched within this long before the fit.
    pub window: TimeDelta,
    /// Most journeys sent in one fit: those of the most recently touched customers.
    pub max_journeys: u64,
}

impl Default for FitSettings {
    /// 30 days; 20,000 journeys (about 2 MiB of JSON, within the 4 MiB payload limit).
    fn default() -> Self {
        Self {
            window: TimeDelta::days(30),
            max_journeys: 20_000,
        }
    }
}

/// Fits `id` now on the journeys of the window. `Ok(None)`: the model has no fit
/// step. The outcome is also kept as the plugin's `last_fit`.
pub async fn fit(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
    settings: FitSettings,
) -> Result<Option<FitResponse>, PluginOpError> {
    let until = Utc::now();
    let journeys = store
        .journeys(until - settings.window, until, settings.max_journeys)
        .await?;
    let request = FitRequest {
        journeys: journeys
            .into_iter()
            .map(|j| Journey {
                partners: j.partners.iter().map(ToString::to_string).collect(),
                converted: j.converted,
            })
            .collect(),
    };
    Ok(registry.fit(id, &request).await?)
}

/// Whether `id` is a loaded, enabled attribution plugin: only those are fitted.
fn fittable(registry: &PluginRegistry, id: &PluginId) -> bool {
    let attribution = registry.info(id).is_some_and(|info| {
        info.granted.contains(&Capability::Attribution)
            && info
                .manifest
                .capabilities
                .contains(&Capability::Attribution)
    });
    let enabled = registry
        .stats(id)
        .is_some_and(|s| s.state == PluginState::Enabled);
    attribution && enabled
}

async fn fit_logged(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
    settings: FitSettings,
) {
    match fit(store, registry, id, settings).await {
        Ok(Some(fitted)) => {
            tracing::info!(%id, journeys = fitted.journeys, partners = fitted.partners, "attribution plugin fitted");
        }
        Ok(None) => tracing::debug!(%id, "attribution plugin has no fit step"),
        Err(error) => {
            tracing::warn!(%id, %error, "attribution plugin fit failed; it keeps its previous model")
        }
    }
}

/// Fits `id` in the background if it is an enabled attribution plugin; the caller
/// (an install, enable or configure request) does not wait.
pub fn spawn_fit(store: Store, registry: PluginRegistry, id: PluginId, settings: FitSettings) {
    if fittable(&registry, &id) {
        tokio::spawn(async move { fit_logged(&store, &registry, &id, settings).await });
    }
}

/// Fits every enabled attribution plugin, one after the other. A loaded plugin starts
/// unfitted, so whatever loads plugins (the server, an import) runs this first.
pub async fn fit_all(store: &Store, registry: &PluginRegistry, settings: FitSettings) {
    for (info, _) in registry.list() {
        if fittable(registry, &info.id) {
            fit_logged(store, registry, &info.id, settings).await;
        }
    }
}

/// Fits every enabled attribution plugin now, then every `every` if given. Abort the
/// handle to stop.
pub fn spawn_fits(
    store: Store,
    registry: PluginRegistry,
    every: Option<Duration>,
    settings: FitSettings,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(every) = every else {
            return fit_all(&store, &registry, settings).await;
        };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            fit_all(&store, &registry, settings).await;
        }
    })
}
