//! `PluginRegistry`: the loaded plugins, their operator state, and guarded calls.

use crate::error::{CallError, LoadError};
use crate::monitor::{Monitor, PluginState, PluginStats};
use crate::native::{NativePlugin, Transport};
use crate::store::{self, Sha256Hex};
use crate::validate;
use cosell_plugin_abi::{
    AttributeRequest, AttributeResponse, Capability, CatalogContribution, CatalogRequest,
    CommissionRequest, CommissionResponse, FitRequest, FitResponse, Manifest, error_code, method,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A loaded plugin's id: the SHA-256 of its library, so the same bytes always
/// have the same id and an upgrade (new bytes) is a new plugin.
pub type PluginId = Sha256Hex;

/// Limits and policies of the host. Set by the server from its settings.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Plugins are stored in `<data_dir>/plugins/<sha256>.so`.
    pub data_dir: PathBuf,
    /// Longest wait for one capability call.
    pub call_timeout: Duration,
    /// Longest wait for `init` and `fit`, which may read files or crunch journeys.
    pub slow_call_timeout: Duration,
    /// Calls to one plugin running at once; timed-out calls keep their slot
    /// until their thread really finishes.
    pub max_concurrent_calls: usize,
    /// Largest request or response, in bytes of JSON.
    pub max_payload_bytes: usize,
    /// Consecutive failures after which a plugin is quarantined.
    pub failure_threshold: u32,
    /// Allowed distance of attribution weights' sum from 1.
    pub weight_tolerance: Decimal,
}

impl HostConfig {
    /// Defaults: 250 ms calls, 30 s init/fit, 4 concurrent calls, 4 MiB
    /// payloads, quarantine after 5 consecutive failures, 1e-9 weight tolerance.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            call_timeout: Duration::from_millis(250),
            slow_call_timeout: Duration::from_secs(30),
            max_concurrent_calls: 4,
            max_payload_bytes: 4 << 20,
            failure_threshold: 5,
            weight_tolerance: Decimal::new(1, 9),
        }
    }
}

/// What the store persists about a registration, and the API shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedPluginInfo {
    /// The library's SHA-256, also its id.
    pub id: PluginId,
    /// What the plugin says about itself.
    pub manifest: Manifest,
    /// Capabilities the operator granted (a superset of the manifest's).
    pub granted: BTreeSet<Capability>,
    /// The content-addressed library file.
    pub path: PathBuf,
}

/// A registered plugin.
struct Entry {
    info: LoadedPluginInfo,
    transport: Arc<dyn Transport>,
    slots: Arc<Semaphore>,
    monitor: Mutex<Monitor>,
}

impl Entry {
    fn monitor(&self) -> std::sync::MutexGuard<'_, Monitor> {
        // The monitor holds counters only; a panic elsewhere cannot break them.
        self.monitor.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The loaded plugins. Cheap to clone; the API and server hold one in their state.
///
/// The registry knows nothing of the database: the store persists
/// registrations and calls [`PluginRegistry::load_installed`] at start-up.
#[derive(Clone)]
pub struct PluginRegistry {
    config: Arc<HostConfig>,
    plugins: Arc<RwLock<BTreeMap<PluginId, Arc<Entry>>>>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new(config: HostConfig) -> Self {
        Self {
            config: Arc::new(config),
            plugins: Arc::default(),
        }
    }

    /// The host's limits.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Installs a library (operator act): checks `expected_sha256`, copies it to
    /// `<data_dir>/plugins/<sha256>.so`, then loads it as [`Self::load_installed`] does.
    pub async fn install(
        &self,
        source: &Path,
        expected_sha256: &str,
        granted: BTreeSet<Capability>,
        config: &serde_json::Value,
    ) -> Result<LoadedPluginInfo, LoadError> {
        let sha256 = Sha256Hex::parse(expected_sha256)?;
        // Checked before copying, so a loaded library's file is left alone.
        if self.read().contains_key(&sha256) {
            return Err(LoadError::AlreadyLoaded(sha256));
        }
        let (data_dir, source) = (self.config.data_dir.clone(), source.to_owned());
        let copy = sha256.clone();
        blocking(move || store::import(&data_dir, &source, &copy)).await?;
        self.load_installed(sha256.as_str(), granted, config, true)
            .await
    }

    /// Loads an already installed library (start-up): re-hashes it, opens it,
    /// validates ABI, table, manifest, API version and capabilities, and
    /// calls `init(config)`. On any error nothing is registered.
    pub async fn load_installed(
        &self,
        sha256: &str,
        granted: BTreeSet<Capability>,
        config: &serde_json::Value,
        enabled: bool,
    ) -> Result<LoadedPluginInfo, LoadError> {
        let id = Sha256Hex::parse(sha256)?;
        if self.read().contains_key(&id) {
            return Err(LoadError::AlreadyLoaded(id));
        }
        let path = store::stored_path(&self.config.data_dir, &id);
        let (open_path, open_id) = (path.clone(), id.clone());
        let plugin = blocking(move || NativePlugin::open(&open_path, &open_id)).await?;
        if let Some(missing) = plugin
            .manifest()
            .capabilities
            .iter()
            .find(|c| !granted.contains(c))
        {
            return Err(LoadError::CapabilityNotGranted(*missing));
        }
        let transport: Arc<dyn Transport> = Arc::new(plugin);
        self.init(&transport, config)
            .await
            .map_err(LoadError::InitFailed)?;
        let info = LoadedPluginInfo {
            id: id.clone(),
            manifest: transport.manifest().clone(),
            granted,
            path,
        };
        let entry = Entry {
            info: info.clone(),
            transport,
            slots: Arc::new(Semaphore::new(self.config.max_concurrent_calls)),
            monitor: Mutex::new(Monitor::new(enabled)),
        };
        let mut plugins = self.plugins.write().unwrap_or_else(PoisonError::into_inner);
        if plugins.contains_key(&id) {
            return Err(LoadError::AlreadyLoaded(id));
        }
        plugins.insert(id, Arc::new(entry));
        tracing::info!(plugin = %info.manifest.name, version = %info.manifest.version, id = %info.id, "plugin loaded");
        Ok(info)
    }

    /// Re-runs `init` with a new configuration. The plugin keeps its old
    /// configuration if the new one is refused.
    pub async fn configure(
        &self,
        id: &PluginId,
        config: &serde_json::Value,
    ) -> Result<(), CallError> {
        let entry = self.entry(id)?;
        self.init(&entry.transport, config).await
    }

    /// Lets calls through again; also lifts a quarantine.
    pub fn enable(&self, id: &PluginId) -> Result<(), CallError> {
        self.entry(id)?.monitor().set_enabled(true);
        Ok(())
    }

    /// Stops all new calls at once. Calls already running finish.
    pub fn disable(&self, id: &PluginId) -> Result<(), CallError> {
        self.entry(id)?.monitor().set_enabled(false);
        Ok(())
    }

    /// Unregisters a plugin and deletes its stored file. The library stays
    /// mapped until the process exits (libraries are never unloaded).
    pub fn remove(&self, id: &PluginId) -> Result<LoadedPluginInfo, CallError> {
        let mut plugins = self.plugins.write().unwrap_or_else(PoisonError::into_inner);
        let entry = plugins
            .remove(id)
            .ok_or_else(|| CallError::NotFound(id.clone()))?;
        drop(plugins);
        if let Err(error) = std::fs::remove_file(&entry.info.path) {
            tracing::warn!(path = %entry.info.path.display(), %error, "cannot delete removed plugin file");
        }
        Ok(entry.info.clone())
    }

    /// Every loaded plugin with its statistics.
    pub fn list(&self) -> Vec<(LoadedPluginInfo, PluginStats)> {
        let plugins = self.read();
        plugins
            .values()
            .map(|e| (e.info.clone(), e.monitor().stats()))
            .collect()
    }

    /// One plugin's registration.
    pub fn info(&self, id: &PluginId) -> Option<LoadedPluginInfo> {
        self.read().get(id).map(|e| e.info.clone())
    }

    /// One plugin's state, call count, failures and latency percentiles.
    pub fn stats(&self, id: &PluginId) -> Option<PluginStats> {
        self.read().get(id).map(|e| e.monitor().stats())
    }

    /// Asks an attribution plugin for weights; they are validated (non-negative,
    /// eligible partners only, summing to 1) before being returned.
    pub async fn call_attribution(
        &self,
        id: &PluginId,
        request: &AttributeRequest,
    ) -> Result<AttributeResponse, CallError> {
        let tolerance = self.config.weight_tolerance;
        let check =
            |response: &AttributeResponse| validate::attribution(request, response, tolerance);
        let call = Call::new(id, Capability::Attribution, method::ATTRIBUTION_ATTRIBUTE);
        self.call(call, request, self.config.call_timeout, check)
            .await
    }

    /// Fits an attribution plugin on journeys. `Ok(None)` when the model has no fit step.
    pub async fn fit(
        &self,
        id: &PluginId,
        request: &FitRequest,
    ) -> Result<Option<FitResponse>, CallError> {
        // `fit` is optional: a model without one is not failing.
        let call = Call {
            optional: true,
            ..Call::new(id, Capability::Attribution, method::ATTRIBUTION_FIT)
        };
        match self
            .call(call, request, self.config.slow_call_timeout, |_| Ok(()))
            .await
        {
            Err(CallError::Plugin(body)) if body.code == error_code::UNSUPPORTED => Ok(None),
            other => other.map(Some),
        }
    }

    /// Asks a commission plugin for lines; they are validated (non-negative,
    /// same currency, no more than the conversion) before being returned.
    pub async fn call_commission(
        &self,
        id: &PluginId,
        request: &CommissionRequest,
    ) -> Result<CommissionResponse, CallError> {
        let check = |response: &CommissionResponse| validate::commission(request, response);
        let call = Call::new(id, Capability::Commission, method::COMMISSION_COMPUTE);
        self.call(call, request, self.config.call_timeout, check)
            .await
    }

    /// Asks a catalog plugin for its contribution; refused whole if any row is invalid.
    pub async fn call_catalog(
        &self,
        id: &PluginId,
        request: &CatalogRequest,
    ) -> Result<CatalogContribution, CallError> {
        let call = Call::new(id, Capability::Catalog, method::CATALOG_CONTRIBUTE);
        self.call(
            call,
            request,
            self.config.slow_call_timeout,
            validate::catalog,
        )
        .await
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<PluginId, Arc<Entry>>> {
        // The map is only replaced whole-entry at a time; poisoning cannot leave it torn.
        self.plugins.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn entry(&self, id: &PluginId) -> Result<Arc<Entry>, CallError> {
        self.read()
            .get(id)
            .cloned()
            .ok_or_else(|| CallError::NotFound(id.clone()))
    }

    async fn init(
        &self,
        transport: &Arc<dyn Transport>,
        config: &serde_json::Value,
    ) -> Result<(), CallError> {
        let config =
            serde_json::to_vec(config).map_err(|e| CallError::InvalidOutput(e.to_string()))?;
        let transport = Arc::clone(transport);
        let run = tokio::task::spawn_blocking(move || transport.init(&config));
        match tokio::time::timeout(self.config.slow_call_timeout, run).await {
            Ok(joined) => joined.unwrap_or_else(|e| Err(joined_error(e))),
            Err(_) => Err(CallError::Timeout(self.config.slow_call_timeout)),
        }
    }

    /// The guarded call: state and capability checks, payload limit, blocking
    /// pool, concurrency limit, timeout, decoding, validation, statistics and breaker.
    async fn call<Req: Serialize, Resp: DeserializeOwned + Send + 'static>(
        &self,
        call: Call<'_>,
        request: &Req,
        timeout: Duration,
        check: impl FnOnce(&Resp) -> Result<(), String>,
    ) -> Result<Resp, CallError> {
        let entry = self.entry(call.id)?;
        check_callable(&entry, call.capability)?;
        let input =
            serde_json::to_vec(request).map_err(|e| CallError::InvalidOutput(e.to_string()))?;
        let limit = self.config.max_payload_bytes;
        if input.len() > limit {
            return Err(CallError::PayloadTooLarge {
                size: input.len(),
                limit,
            });
        }
        let started = Instant::now();
        let run = async {
            let permit = Arc::clone(&entry.slots)
                .acquire_owned()
                .await
                .map_err(|_| CallError::InvalidOutput("plugin call slots are closed".into()))?;
            let (transport, method) = (Arc::clone(&entry.transport), call.method);
            // The permit moves into the thread: a timed-out call keeps its slot
            // until the plugin really returns, so hung calls cannot pile up.
            let joined = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let bytes = transport.call(method, &input, limit)?;
                serde_json::from_slice::<Resp>(&bytes)
                    .map_err(|e| CallError::InvalidOutput(e.to_string()))
            })
            .await;
            joined.unwrap_or_else(|e| Err(joined_error(e)))
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result.and_then(|response| {
                check(&response).map_err(CallError::InvalidOutput)?;
                Ok(response)
            }),
            Err(_) => Err(CallError::Timeout(timeout)),
        };
        self.record(&entry, call.optional, started.elapsed(), &result);
        result
    }

    fn record<T>(
        &self,
        entry: &Entry,
        optional: bool,
        took: Duration,
        result: &Result<T, CallError>,
    ) {
        let failure = match result {
            // An optional method the plugin does not have: neither a success
            // nor a failure, so it leaves the statistics and breaker alone.
            Err(CallError::Plugin(body)) if optional && body.code == error_code::UNSUPPORTED => {
                return;
            }
            Err(error) if error.is_plugin_failure() => Some(error.to_string()),
            _ => None,
        };
        let tripped =
            entry
                .monitor()
                .record(took, failure.as_deref(), self.config.failure_threshold);
        if let Some(reason) = failure {
            tracing::warn!(plugin = %entry.info.manifest.name, id = %entry.info.id, %reason, "plugin call failed");
        }
        if tripped {
            tracing::error!(plugin = %entry.info.manifest.name, id = %entry.info.id, "plugin quarantined after repeated failures; re-enable it once fixed");
        }
    }
}

/// Which plugin method a guarded call is for.
struct Call<'a> {
    id: &'a PluginId,
    capability: Capability,
    method: &'static str,
    /// The method may answer `unsupported` without that counting as a failure.
    optional: bool,
}

impl<'a> Call<'a> {
    fn new(id: &'a PluginId, capability: Capability, method: &'static str) -> Self {
        Self {
            id,
            capability,
            method,
            optional: false,
        }
    }
}

fn check_callable(entry: &Entry, capability: Capability) -> Result<(), CallError> {
    let id = entry.info.id.clone();
    match entry.monitor().state() {
        PluginState::Enabled => {}
        PluginState::Disabled => return Err(CallError::Disabled(id)),
        PluginState::Quarantined { reason } => {
            return Err(CallError::Quarantined {
                id,
                reason: reason.clone(),
            });
        }
    }
    let info = &entry.info;
    if info.granted.contains(&capability) && info.manifest.capabilities.contains(&capability) {
        Ok(())
    } else {
        Err(CallError::NoCapability { id, capability })
    }
}

/// A blocking-pool task that did not finish: the host's own panic (the plugin's
/// are caught in the plugin) or a runtime shutting down.
fn joined_error(error: tokio::task::JoinError) -> CallError {
    CallError::InvalidOutput(format!("plugin call did not complete: {error}"))
}

/// Runs file and loader work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LoadError> + Send + 'static,
) -> Result<T, LoadError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(LoadError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}
