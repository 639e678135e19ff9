//! Shared application state: the store, the token keys and the API's limits.

use std::sync::Arc;
use std::time::Duration;

use cosell_plugin_host::{HostConfig, PluginRegistry};
use cosell_reco::{ModelHolder, RecommenderConfig};
use cosell_store::Store;

use crate::auth::StandingCache;
use crate::auth::jwt::JwtKeys;
use crate::clock::Clock;
use crate::impressions::ImpressionLog;
use crate::plugins::fit::FitSettings;
use crate::plugins::hooks::PluginHooks;
use crate::reco::CatalogCache;

/// Limits and settings the router applies.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Guardrail thresholds and score knobs of `POST /v1/recommendations`.
    pub recommender: RecommenderConfig,
    /// Where installed plugins live and how calls to them are limited.
    pub plugins: HostConfig,
    /// Which journeys attribution plugins are fitted on.
    pub plugin_fit: FitSettings,
    /// What day it is, for the rule that only ended periods are settled.
    pub clock: Clock,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            recommender: RecommenderConfig::default(),
            // The data directory `cosell serve` uses by default.
            plugins: HostConfig::new("./data"),
            plugin_fit: FitSettings::default(),
            clock: Clock::default(),
        }
    }
}

#[derive(Debug)]
struct Inner {
    store: Store,
    jwt: JwtKeys,
    /// API keys' standings, dropped when a key is revoked or a partner's status changes.
    standings: StandingCache,
    config: ApiConfig,
    /// The co-purchase model recommendations read; a background rebuild swaps it.
    model: Arc<ModelHolder>,
    /// Merchants' recommendation catalogs, dropped on catalog writes.
    catalogs: CatalogCache,
    /// Shown recommendations on their way to the database.
    impressions: ImpressionLog,
    /// The loaded native plugins; the server fills it from the stored registrations.
    plugins: PluginRegistry,
}

/// Cheap to clone: handlers get it by value.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// The state over `store`, whose attribution calls this state's plugins. Starts the
    /// impression writer, so it must be called inside a Tokio runtime.
    pub fn new(store: Store, jwt: JwtKeys, config: ApiConfig) -> Self {
        let plugins = PluginRegistry::new(config.plugins.clone());
        let store = store.with_hooks(Arc::new(PluginHooks::new(plugins.clone())));
        AppState(Arc::new(Inner {
            impressions: ImpressionLog::spawn(store.clone()),
            store,
            jwt,
            standings: StandingCache::default(),
            model: Arc::default(),
            catalogs: CatalogCache::default(),
            plugins,
            config,
        }))
    }

    /// The store; its attribution calls [`Self::plugins`].
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn jwt(&self) -> &JwtKeys {
        &self.0.jwt
    }

    /// The cache of API keys' standings that authentication reads.
    pub fn standings(&self) -> &StandingCache {
        &self.0.standings
    }

    pub fn config(&self) -> &ApiConfig {
        &self.0.config
    }

    /// The co-purchase model holder, shared with whatever rebuilds the model.
    pub fn model(&self) -> &Arc<ModelHolder> {
        &self.0.model
    }

    /// The cache of merchants' recommendation catalogs.
    pub fn catalogs(&self) -> &CatalogCache {
        &self.0.catalogs
    }

    /// Where recommendation answers record what they showed.
    pub fn impressions(&self) -> &ImpressionLog {
        &self.0.impressions
    }

    /// The plugin registry every plugin call goes through.
    pub fn plugins(&self) -> &PluginRegistry {
        &self.0.plugins
    }
}
