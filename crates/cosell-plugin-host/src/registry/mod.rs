//! `PluginRegistry`: the loaded plugins and their operator state (install,
//! load, configure, enable, disable, remove, statistics).

mod calls;

use crate::error::{CallError, LoadError};
use crate::monitor::{Monitor, PluginStats};
use crate::native::{InitTicket, NativePlugin, Transport};
use crate::store::{self, Sha256Hex};
use cosell_plugin_abi::{Capability, Manifest};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
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
    /// Calls share the plugin, a `fit` has it to itself (the SDK runs `fit` under its
    /// instance's write lock). Waiting for a turn here, off the blocking pool, lets a
    /// call that arrives during a long fit give up as busy instead of timing out
    /// inside the plugin, which would count towards quarantine.
    turns: Arc<tokio::sync::RwLock<()>>,
    monitor: Mutex<Monitor>,
    /// Whether its last successful `init` asked `confirm_init` before going live.
    /// One that did not cannot be kept from a timed-out `init` going live later.
    confirms_init: AtomicBool,
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
    /// Why registrations failed to load at start-up, by pinned digest, so the
    /// API can report them next to the loaded plugins.
    load_errors: Arc<Mutex<BTreeMap<String, String>>>,
    /// Held by an install from copying the library to registering it (or deleting
    /// the copy), so that one install's clean-up never deletes another's library.
    installing: Arc<tokio::sync::Mutex<()>>,
}

// By hand: the entries hold trait objects and locks; their ids are what a log needs.
impl std::fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("data_dir", &self.config.data_dir)
            .field("plugins", &self.read().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new(config: HostConfig) -> Self {
        Self {
            config: Arc::new(config),
            plugins: Arc::default(),
            load_errors: Arc::default(),
            installing: Arc::default(),
        }
    }

    /// The host's limits.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Installs a library (operator act): checks `expected_sha256`, copies it to
    /// `<data_dir>/plugins/<sha256>.so`, then loads it as [`Self::load_installed`] does.
    /// If loading fails the copy is deleted again (it is no registered plugin's).
    pub async fn install(
        &self,
        source: &Path,
        expected_sha256: &str,
        granted: BTreeSet<Capability>,
        config: &serde_json::Value,
    ) -> Result<LoadedPluginInfo, LoadError> {
        let sha256 = Sha256Hex::parse(expected_sha256)?;
        let _installing = self.installing.lock().await;
        // Checked before copying, so a loaded library's file is left alone.
        if self.read().contains_key(&sha256) {
            return Err(LoadError::AlreadyLoaded(sha256));
        }
        let (data_dir, from) = (self.config.data_dir.clone(), source.to_owned());
        let copy = sha256.clone();
        blocking(move || store::import(&data_dir, &from, &copy)).await?;
        let loaded = self.load(sha256.as_str(), granted, config, true).await;
        // Not registered, the copy serves nothing and nothing could remove it later;
        // unless it is the file of a registration that failed to load at start-up.
        if loaded.is_err() && !self.read().contains_key(&sha256) && !self.failed_to_load(&sha256) {
            self.delete_stored(&sha256);
        }
        // The operator named `source`; the stored copy's name means nothing to them.
        loaded.map_err(|error| match error {
            LoadError::Open { message, .. } => LoadError::Open {
                path: source.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Whether `id` is a registration that failed to load at start-up.
    fn failed_to_load(&self, id: &PluginId) -> bool {
        let errors = self
            .load_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        errors.contains_key(id.as_str())
    }

    /// Deletes the stored library of `id`; a failure is logged.
    fn delete_stored(&self, id: &PluginId) {
        let path = store::stored_path(&self.config.data_dir, id);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(path = %path.display(), %error, "cannot delete a plugin file");
            }
            _ => {}
        }
    }

    /// Loads an already installed library (start-up, or a reconfiguration of one
    /// that is not loaded): re-hashes it, opens it, validates ABI, table, manifest,
    /// API version and capabilities, and calls `init(config)`. On any error nothing
    /// is registered; the error is kept for [`Self::load_errors`], so the server can
    /// start without the plugin and still say why. Logging it is the caller's to
    /// decide: a server starting without the plugin says so, a command reports it.
    pub async fn load_installed(
        &self,
        sha256: &str,
        granted: BTreeSet<Capability>,
        config: &serde_json::Value,
        enabled: bool,
    ) -> Result<LoadedPluginInfo, LoadError> {
        let result = self.load(sha256, granted, config, enabled).await;
        let mut errors = self
            .load_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &result {
            Ok(_) => errors.remove(sha256),
            Err(error) => errors.insert(sha256.to_owned(), error.to_string()),
        };
        result
    }

    /// Registrations that failed to load at start-up: pinned digest and reason.
    pub fn load_errors(&self) -> Vec<(String, String)> {
        let errors = self
            .load_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        errors.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    async fn load(
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
        let confirms_init = self
            .init(&transport, config)
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
            turns: Arc::default(),
            monitor: Mutex::new(Monitor::new(enabled)),
            confirms_init: AtomicBool::new(confirms_init),
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
    /// configuration if the new one is refused, including when `init` times out:
    /// the plugin then drops the new instance when its `init` finishes. A plugin
    /// that does not confirm its inits (see `HostApi::confirm_init`) could still
    /// switch to the refused configuration then, so such a plugin is quarantined
    /// when its `init` times out.
    pub async fn configure(
        &self,
        id: &PluginId,
        config: &serde_json::Value,
    ) -> Result<(), CallError> {
        let entry = self.entry(id)?;
        match self.init(&entry.transport, config).await {
            Ok(confirmed) => {
                entry.confirms_init.store(confirmed, Ordering::Relaxed);
                Ok(())
            }
            Err(error @ CallError::Timeout(_)) if !entry.confirms_init.load(Ordering::Relaxed) => {
                let reason = format!(
                    "{error}, and this plugin does not confirm its inits, so it may still \
                     switch to the refused configuration: configure it again, then enable it"
                );
                tracing::error!(plugin = %entry.info.manifest.name, id = %entry.info.id, %reason, "plugin quarantined");
                entry.monitor().quarantine(reason);
                Err(error)
            }
            Err(error) => Err(error),
        }
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

    /// Unregisters a plugin (if loaded), forgets its load error and deletes
    /// its stored file, so a registration that failed to load can be removed
    /// too. Returns what was loaded. The library stays mapped until the
    /// process exits (libraries are never unloaded).
    pub fn remove(&self, id: &PluginId) -> Option<LoadedPluginInfo> {
        let mut plugins = self.plugins.write().unwrap_or_else(PoisonError::into_inner);
        let removed = plugins.remove(id).map(|entry| entry.info.clone());
        drop(plugins);
        let mut errors = self
            .load_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        errors.remove(id.as_str());
        drop(errors);
        self.delete_stored(id);
        removed
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

    /// Runs `init` under the slow-call timeout. `Ok(true)`: the new configuration is
    /// live and the plugin confirmed it before the host stopped waiting; `Ok(false)`:
    /// it is live, but the plugin never asked (it does not confirm its inits). On a
    /// timeout the `init` is abandoned: a plugin that confirms drops its new
    /// instance when the `init` finishes.
    async fn init(
        &self,
        transport: &Arc<dyn Transport>,
        config: &serde_json::Value,
    ) -> Result<bool, CallError> {
        let config =
            serde_json::to_vec(config).map_err(|e| CallError::InvalidOutput(e.to_string()))?;
        let ticket = Arc::new(InitTicket::default());
        let (transport, running) = (Arc::clone(transport), Arc::clone(&ticket));
        let run = tokio::task::spawn_blocking(move || transport.init(&config, &running));
        match tokio::time::timeout(self.config.slow_call_timeout, run).await {
            Ok(joined) => {
                joined.unwrap_or_else(|e| Err(joined_error(e)))?;
                Ok(ticket.confirmed())
            }
            Err(_) if ticket.abandon() => Err(CallError::Timeout(self.config.slow_call_timeout)),
            // Confirmed just before the deadline: the new instance is live.
            Err(_) => Ok(true),
        }
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
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(LoadError::Interrupted(e.to_string())))
}
