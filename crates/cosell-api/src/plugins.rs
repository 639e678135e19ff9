//! Plugin operations that touch both the registry and the store, shared by the
//! `/v1/plugins` routes and the `cosell plugin` commands so the two cannot drift.
//!
//! The registry is the source of truth for what is loaded; the store for what is
//! installed. Every operation changes the registry first and persists only what the
//! registry accepted, and undoes the registry change if persisting fails.
//!
//! [`hooks`] connects attribution and commission plugins to the store's attribution;
//! [`fit`] trains attribution plugins on journeys.

pub mod fit;
pub mod hooks;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use axum::http::StatusCode;
use chrono::Utc;
use cosell_core::catalog::product::ProductInput;
use cosell_core::catalog::relation::NewRelation;
use cosell_core::catalog::{ProductFields, RelationKind};
use cosell_core::plugin::PluginRef;
use cosell_core::{PartnerId, ValidationErrors};
use cosell_plugin_abi::{
    AttributeRequest, Capability, CatalogContribution, CatalogRequest, CommissionRequest,
    FitRequest, RowError, method as abi_method,
};
use cosell_plugin_host::{
    CallError, LoadError, PluginId, PluginRegistry, PluginState, PluginStats, Sha256Hex,
};
use cosell_store::plugins::PluginRegistration;
use cosell_store::{Store, StoreError, Tenant};
use rust_decimal::Decimal;

use crate::error::ApiError;

/// Why a plugin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginOpError {
    /// Installing or loading refused the library; nothing was registered.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The plugin refused or failed a call (including `init` on reconfiguration).
    #[error(transparent)]
    Call(#[from] CallError),
    /// `init` refused the new configuration; the plugin keeps its old one.
    #[error("plugin refused the configuration: {0}")]
    ConfigRefused(#[source] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored capability name this host does not know: a manual edit or a downgrade.
    #[error("registration {id} grants unknown capability `{name}`")]
    UnknownCapability { id: String, name: String },
    /// The plugin is installed, but not loaded in this process, so it takes no calls.
    #[error("plugin {id} is installed but not loaded: {why}")]
    NotLoaded { id: PluginId, why: String },
    /// A registration with this hash exists (loaded or not).
    #[error("plugin {0} is already installed; remove it first to install it again")]
    AlreadyInstalled(PluginId),
    /// Input for a plugin call does not match the method's message schema.
    #[error("input does not match the method's message: {0}")]
    BadInput(String),
    /// Not a method the operator may call.
    #[error(
        "unknown plugin method `{0}`; use attribution.attribute, attribution.fit or commission.compute"
    )]
    UnknownMethod(String),
    /// A contributed row broke a catalog rule the plugin host does not check.
    #[error("contributed product {sku} is invalid: {errors}")]
    InvalidProduct { sku: String, errors: String },
    /// A partnership or default model names a plugin that is not installed.
    #[error("no plugin {0} is installed")]
    UnknownPlugin(String),
    /// The named plugin is installed but takes no calls now.
    #[error("plugin {id} is {state}; an operator must enable it before it can be named")]
    PluginUnavailable { id: String, state: &'static str },
    /// The named plugin was not granted, or does not provide, the capability.
    #[error("plugin {id} does not provide the `{capability}` capability")]
    PluginLacksCapability { id: String, capability: Capability },
}

/// Checks that `plugin` can be named for `capability` by a partnership or a default
/// model: installed, loaded, enabled, granted and declaring it. A plugin that later
/// stops answering is not refused here; attribution falls back and records why.
pub async fn require(
    store: &Store,
    registry: &PluginRegistry,
    plugin: &PluginRef,
    capability: Capability,
) -> Result<(), PluginOpError> {
    let id = plugin_id(plugin.as_str())?;
    match store.get_plugin(id.as_str()).await {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => return Err(PluginOpError::UnknownPlugin(id.to_string())),
        Err(other) => return Err(other.into()),
    }
    nameable(registry, &id, capability)
}

/// The part of [`require`] the registry answers, for a plugin known to be installed:
/// loaded, enabled, and both granted and declaring `capability`.
pub fn nameable(
    registry: &PluginRegistry,
    id: &PluginId,
    capability: Capability,
) -> Result<(), PluginOpError> {
    let unavailable = |state| PluginOpError::PluginUnavailable {
        id: id.to_string(),
        state,
    };
    let (Some(info), Some(stats)) = (registry.info(id), registry.stats(id)) else {
        return Err(unavailable("not loaded"));
    };
    match stats.state {
        PluginState::Enabled => {}
        PluginState::Disabled => return Err(unavailable("disabled")),
        PluginState::Quarantined { .. } => return Err(unavailable("quarantined")),
    }
    if info.granted.contains(&capability) && info.manifest.capabilities.contains(&capability) {
        Ok(())
    } else {
        Err(PluginOpError::PluginLacksCapability {
            id: id.to_string(),
            capability,
        })
    }
}

/// Checks that `id` is installed (else the store's not found) and loaded in this process
/// (else [`PluginOpError::NotLoaded`], saying why): what a call, fit or contribution needs.
pub async fn require_loaded(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
) -> Result<(), PluginOpError> {
    store.get_plugin(id.as_str()).await?;
    if registry.info(id).is_some() {
        return Ok(());
    }
    let load_error = registry
        .load_errors()
        .into_iter()
        .find_map(|(failed, error)| (failed == id.as_str()).then_some(error));
    let why = match load_error {
        Some(error) => format!(
            "it failed to load ({error}); fix it with PUT /v1/plugins/{id}/config, or remove it"
        ),
        None => "it was installed after this server started; it loads at the next start, \
                 or now with PUT /v1/plugins/{id}/config"
            .replace("{id}", id.as_str()),
    };
    Err(PluginOpError::NotLoaded {
        id: id.clone(),
        why,
    })
}

/// Checks `text` is a digest; the id of every plugin is one.
pub fn plugin_id(text: &str) -> Result<PluginId, PluginOpError> {
    Ok(Sha256Hex::parse(text)?)
}

fn capability_name(capability: Capability) -> String {
    capability.to_string()
}

/// The capabilities a registration grants, as the host knows them.
pub(crate) fn granted_of(
    registration: &PluginRegistration,
) -> Result<BTreeSet<Capability>, PluginOpError> {
    registration
        .granted
        .iter()
        .map(|name| {
            serde_json::from_value(serde_json::Value::String(name.clone())).map_err(|_| {
                PluginOpError::UnknownCapability {
                    id: registration.id.clone(),
                    name: name.clone(),
                }
            })
        })
        .collect()
}

/// Installs a library (copy, pin, load, validate, `init`) and persists the registration.
pub async fn install(
    store: &Store,
    registry: &PluginRegistry,
    path: &Path,
    sha256: &str,
    granted: BTreeSet<Capability>,
    config: serde_json::Value,
) -> Result<PluginRegistration, PluginOpError> {
    // A registration that failed to load is not in the registry, which would install
    // over it; undoing that would then delete the library the registration still names.
    let id = plugin_id(sha256)?;
    match store.get_plugin(id.as_str()).await {
        Ok(_) => {
            // A wrong path or pin is the operator's mistake to hear about, not that the
            // pinned plugin is installed. (The registry checks the file on every other
            // path; here it is read once, and only to word the refusal.)
            id.verify_file(path)?;
            return Err(PluginOpError::AlreadyInstalled(id));
        }
        Err(StoreError::NotFound(_)) => {}
        Err(other) => return Err(other.into()),
    }
    let info = registry
        .install(path, sha256, granted.clone(), &config)
        .await?;
    let registration = PluginRegistration {
        id: info.id.as_str().to_owned(),
        name: info.manifest.name,
        version: info.manifest.version,
        granted: granted.into_iter().map(capability_name).collect(),
        config,
        enabled: true,
        installed_at: Utc::now(),
    };
    match store.create_plugin(registration).await {
        Ok(stored) => Ok(stored),
        Err(error) => {
            // Not persisted means not installed: a restart would not load it either.
            registry.remove(&info.id);
            Err(error.into())
        }
    }
}

/// Loads every stored registration (start-up). A plugin that fails is logged and kept
/// in [`PluginRegistry::load_errors`]; the others load regardless. Returns how many loaded.
pub async fn load_all(store: &Store, registry: &PluginRegistry) -> Result<usize, StoreError> {
    let mut loaded = 0;
    for registration in store.list_plugins().await? {
        let granted = match granted_of(&registration) {
            Ok(granted) => granted,
            Err(error) => {
                tracing::error!(%error, "plugin registration is unreadable; skipping it");
                continue;
            }
        };
        let result = registry
            .load_installed(
                &registration.id,
                granted,
                &registration.config,
                registration.enabled,
            )
            .await;
        // The registry kept the failure for `list`; the others load regardless.
        match result {
            Ok(_) => loaded += 1,
            Err(error) => {
                let id = &registration.id;
                tracing::error!(%id, %error, "plugin failed to load; continuing without it");
            }
        }
    }
    Ok(loaded)
}

/// Lets calls through again (also lifting a quarantine) or stops them, and persists it.
pub async fn set_enabled(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
    enabled: bool,
) -> Result<PluginRegistration, PluginOpError> {
    let registration = store.set_plugin_enabled(id.as_str(), enabled).await?;
    // A registration that failed to load has nothing to switch; the flag applies when it loads.
    let switched = if enabled {
        registry.enable(id)
    } else {
        registry.disable(id)
    };
    match switched {
        Ok(()) | Err(CallError::NotFound(_)) => Ok(registration),
        Err(other) => Err(other.into()),
    }
}

/// Re-runs `init` with a new configuration and persists it once accepted. A
/// registration that is not loaded (it failed at start-up, or this process never
/// loaded it) is loaded with the new configuration instead, which both validates the
/// configuration and recovers a plugin whose old configuration was the problem.
pub async fn configure(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
    config: serde_json::Value,
) -> Result<PluginRegistration, PluginOpError> {
    let registration = store.get_plugin(id.as_str()).await?;
    if registry.info(id).is_some() {
        registry
            .configure(id, &config)
            .await
            .map_err(PluginOpError::ConfigRefused)?;
    } else {
        let granted = granted_of(&registration)?;
        registry
            .load_installed(id.as_str(), granted, &config, registration.enabled)
            .await?;
    }
    Ok(store.set_plugin_config(id.as_str(), config).await?)
}

/// Forgets a registration and deletes its stored library. Calls stop at once; the
/// code stays mapped until the process exits.
pub async fn remove(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
) -> Result<(), PluginOpError> {
    if !store.delete_plugin(id.as_str()).await? {
        return Err(StoreError::NotFound("plugin").into());
    }
    registry.remove(id);
    Ok(())
}

/// A registration with what the registry knows about it right now.
#[derive(Debug, Clone)]
pub struct PluginStatus {
    pub registration: PluginRegistration,
    /// Vendor and declared capabilities, when loaded.
    pub loaded: Option<(String, Vec<Capability>)>,
    pub stats: Option<PluginStats>,
    /// Why it failed to load, if it did.
    pub load_error: Option<String>,
}

fn status_of(
    registry: &PluginRegistry,
    load_errors: &HashMap<String, String>,
    registration: PluginRegistration,
) -> PluginStatus {
    let id = Sha256Hex::parse(&registration.id).ok();
    let info = id.as_ref().and_then(|id| registry.info(id));
    let stats = id.as_ref().and_then(|id| registry.stats(id));
    PluginStatus {
        load_error: load_errors.get(&registration.id).cloned(),
        loaded: info.map(|i| (i.manifest.vendor, i.manifest.capabilities)),
        stats,
        registration,
    }
}

/// Every registration, loaded or not, with its state and statistics.
pub async fn list(
    store: &Store,
    registry: &PluginRegistry,
) -> Result<Vec<PluginStatus>, StoreError> {
    let load_errors: HashMap<String, String> = registry.load_errors().into_iter().collect();
    Ok(store
        .list_plugins()
        .await?
        .into_iter()
        .map(|r| status_of(registry, &load_errors, r))
        .collect())
}

/// One registration with its state and statistics.
pub async fn get(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
) -> Result<PluginStatus, StoreError> {
    let registration = store.get_plugin(id.as_str()).await?;
    let load_errors: HashMap<String, String> = registry.load_errors().into_iter().collect();
    Ok(status_of(registry, &load_errors, registration))
}

/// What a catalog contribution added to the owner's catalog.
#[derive(Debug, Clone)]
pub struct Contributed {
    pub products: usize,
    pub relations: usize,
    /// Source rows the plugin skipped, with their line numbers.
    pub rejected: Vec<RowError>,
}

/// Asks a catalog plugin for its contribution and adds it to `owner`'s catalog: the
/// products in one transaction (all or none), then the relations between them.
/// Contributed products have no cost or category of their own: their unit cost is 0
/// and their category is the plugin's name.
pub async fn contribute(
    store: &Store,
    registry: &PluginRegistry,
    id: &PluginId,
    owner: PartnerId,
) -> Result<Contributed, PluginOpError> {
    store.get_partner(Tenant::All, owner).await?;
    require_loaded(store, registry, id).await?;
    let registration = store.get_plugin(id.as_str()).await?;
    let request = CatalogRequest {
        owner_partner_id: owner.0.to_string(),
    };
    let contribution = registry.call_catalog(id, &request).await?;
    let CatalogContribution {
        products,
        relations,
        rejected,
    } = contribution;
    let fields = products
        .into_iter()
        .map(|row| {
            let attributes = row.url.map(|url| serde_json::json!({ "url": url }));
            ProductFields::parse(ProductInput {
                sku: row.sku.clone(),
                title: row.name,
                category: registration.name.clone(),
                price: row.price,
                unit_cost: Decimal::ZERO,
                currency: row.currency,
                active: true,
                attributes,
            })
            .map_err(|errors| invalid_product(row.sku, &errors))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = store.create_products(owner, fields).await?;
    let by_sku: HashMap<&str, _> = created
        .iter()
        .map(|p| (p.fields.sku.as_str(), p.id))
        .collect();
    // Feeds list symmetric relations from both ends; stored once, they are added once.
    let mut seen = HashSet::new();
    for relation in relations {
        let (Some(&from), Some(&to)) = (
            by_sku.get(relation.from_sku.as_str()),
            by_sku.get(relation.to_sku.as_str()),
        ) else {
            continue;
        };
        let new = NewRelation::parse(relation_kind(relation.kind), from, to, Decimal::ONE)
            .map_err(|errors| invalid_product(relation.from_sku, &errors))?;
        if seen.insert((new.kind, new.from_product_id, new.to_product_id)) {
            store.create_relation(owner, new).await?;
        }
    }
    Ok(Contributed {
        products: created.len(),
        relations: seen.len(),
        rejected,
    })
}

/// Makes one capability call with operator-supplied input, through the same guards,
/// validation and statistics as any call, and returns the validated answer: how an
/// operator checks what a plugin would answer before relying on it.
pub async fn call(
    registry: &PluginRegistry,
    id: &PluginId,
    method: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, PluginOpError> {
    fn decode<T: serde::de::DeserializeOwned>(
        input: serde_json::Value,
    ) -> Result<T, PluginOpError> {
        serde_json::from_value(input).map_err(|e| PluginOpError::BadInput(e.to_string()))
    }
    let answer = match method {
        abi_method::ATTRIBUTION_ATTRIBUTE => {
            let request: AttributeRequest = decode(input)?;
            serde_json::to_value(registry.call_attribution(id, &request).await?)
        }
        abi_method::ATTRIBUTION_FIT => {
            let request: FitRequest = decode(input)?;
            serde_json::to_value(registry.fit(id, &request).await?)
        }
        abi_method::COMMISSION_COMPUTE => {
            let request: CommissionRequest = decode(input)?;
            serde_json::to_value(registry.call_commission(id, &request).await?)
        }
        other => return Err(PluginOpError::UnknownMethod(other.to_owned())),
    };
    answer.map_err(|e| PluginOpError::BadInput(e.to_string()))
}

fn invalid_product(sku: String, errors: &ValidationErrors) -> PluginOpError {
    let errors = errors
        .0
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    PluginOpError::InvalidProduct { sku, errors }
}

fn relation_kind(kind: cosell_plugin_abi::RelationKind) -> RelationKind {
    use cosell_plugin_abi::RelationKind as Abi;
    match kind {
        Abi::Complementary => RelationKind::Complementary,
        Abi::Accessory => RelationKind::Accessory,
        Abi::BundleMember => RelationKind::BundleMember,
        Abi::Competing => RelationKind::Competing,
    }
}

impl PluginOpError {
    /// Status and stable problem code: one code per way installing can fail.
    fn problem(&self) -> (StatusCode, &'static str) {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match self {
            PluginOpError::Load(load) => match load {
                LoadError::BadDigest(_) => (unprocessable, "bad_digest"),
                LoadError::Io { .. } => (unprocessable, "plugin_file_unreadable"),
                LoadError::HashMismatch { .. } => (unprocessable, "hash_mismatch"),
                LoadError::Open { .. } => (unprocessable, "not_a_library"),
                LoadError::MissingSymbol { .. } => (unprocessable, "missing_symbol"),
                LoadError::AbiVersion { .. } => (unprocessable, "wrong_abi_version"),
                LoadError::NullTable => (unprocessable, "no_function_table"),
                LoadError::ShortTable { .. } => (unprocessable, "short_table"),
                LoadError::NullFunction(_) => (unprocessable, "missing_function"),
                LoadError::BadManifest(_) => (unprocessable, "bad_manifest"),
                LoadError::ApiVersion { .. } => (unprocessable, "incompatible_api_version"),
                LoadError::CapabilityNotGranted(_) => (unprocessable, "capability_not_granted"),
                LoadError::InitFailed(_) => (unprocessable, "init_failed"),
                LoadError::AlreadyLoaded(_) => (StatusCode::CONFLICT, "plugin_installed"),
                // The runtime is shutting down: nothing the client did wrong.
                LoadError::Interrupted(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "plugin_loading_interrupted",
                ),
            },
            PluginOpError::AlreadyInstalled(_) => (StatusCode::CONFLICT, "plugin_installed"),
            PluginOpError::NotLoaded { .. } => (StatusCode::CONFLICT, "plugin_not_loaded"),
            PluginOpError::ConfigRefused(_) => (unprocessable, "config_refused"),
            PluginOpError::Call(call) => match call {
                CallError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                CallError::Disabled(_) => (StatusCode::CONFLICT, "plugin_disabled"),
                CallError::Quarantined { .. } => (StatusCode::CONFLICT, "plugin_quarantined"),
                CallError::NoCapability { .. } => (StatusCode::CONFLICT, "capability_missing"),
                CallError::PayloadTooLarge { .. } => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "plugin_payload_too_large")
                }
                CallError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "plugin_busy"),
                // The plugin, not the client, failed: as with any upstream.
                CallError::Timeout(_)
                | CallError::Plugin(_)
                | CallError::Panic(_)
                | CallError::InvalidOutput(_) => (StatusCode::BAD_GATEWAY, "plugin_failed"),
            },
            PluginOpError::UnknownCapability { .. } => (unprocessable, "unknown_capability"),
            PluginOpError::BadInput(_) => (unprocessable, "invalid_body"),
            PluginOpError::UnknownMethod(_) => (unprocessable, "unknown_method"),
            PluginOpError::InvalidProduct { .. } => (unprocessable, "invalid_contribution"),
            PluginOpError::UnknownPlugin(_) => (unprocessable, "unknown_plugin"),
            PluginOpError::PluginUnavailable { .. } => (unprocessable, "plugin_unavailable"),
            PluginOpError::PluginLacksCapability { .. } => {
                (unprocessable, "plugin_capability_missing")
            }
            PluginOpError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl From<PluginOpError> for ApiError {
    fn from(error: PluginOpError) -> Self {
        match error {
            PluginOpError::Store(store) => store.into(),
            // The host's messages are written for operators; partners only get here
            // naming a plugin, with messages written for them.
            other => {
                let (status, code) = other.problem();
                ApiError::new(status, code, other.to_string())
            }
        }
    }
}
