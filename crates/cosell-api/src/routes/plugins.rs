//! Native plugins, operator only: install, list (with load failures), show with call
//! statistics, enable, disable, configure, remove, and run a catalog contribution.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_plugin_abi::Capability;
use cosell_plugin_host::{PluginId, PluginState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use super::plugin_fits::FitDto;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::plugins::{self as ops, PluginStatus, fit, granted_of};
use crate::state::AppState;

/// What a plugin may do for Cosell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityDto {
    /// Contributes products and relations to its owner's catalog.
    Catalog,
    /// Splits a conversion's credit between partners.
    Attribution,
    /// Computes commission lines.
    Commission,
}

impl From<CapabilityDto> for Capability {
    fn from(c: CapabilityDto) -> Self {
        match c {
            CapabilityDto::Catalog => Capability::Catalog,
            CapabilityDto::Attribution => Capability::Attribution,
            CapabilityDto::Commission => Capability::Commission,
        }
    }
}

impl From<Capability> for CapabilityDto {
    fn from(c: Capability) -> Self {
        match c {
            Capability::Catalog => CapabilityDto::Catalog,
            Capability::Attribution => CapabilityDto::Attribution,
            Capability::Commission => CapabilityDto::Commission,
        }
    }
}

/// Install a library that is already on the server's disk.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallPlugin {
    /// Path of the shared library on the server.
    pub path: String,
    /// The SHA-256 (64 hex digits) the library must have: the pin.
    pub sha256: String,
    /// Capabilities granted; the plugin must declare none beyond these.
    pub granted: Vec<CapabilityDto>,
    /// The plugin's configuration, given to its `init`: any JSON the plugin accepts
    /// (default `{}`).
    #[serde(default)]
    #[schema(value_type = Value)]
    pub config: Option<serde_json::Value>,
}

/// A new configuration, given to the plugin's `init`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurePlugin {
    /// Any JSON the plugin accepts.
    #[schema(value_type = Value)]
    pub config: serde_json::Value,
}

/// Whether a plugin takes calls, or why it does not.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PluginStateDto {
    /// Loaded and taking calls.
    Enabled,
    /// Loaded; an operator stopped calls.
    Disabled,
    /// Loaded; the circuit breaker stopped calls after repeated failures. Enable it to retry.
    Quarantined,
    /// It failed to load at start-up (see `load_error`); callers use the built-in models.
    Failed,
    /// Installed by `cosell plugin install` while this server was running: loaded at the next start.
    NotLoaded,
}

/// Calls made to a loaded plugin since the server started.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginStatsDto {
    pub calls: u64,
    /// Calls that failed: error, panic, timeout or invalid output.
    pub failures: u64,
    /// Failures since the last success; quarantine follows at the host's threshold.
    pub consecutive_failures: u32,
    /// Median call time over the last 1,024 calls, in microseconds.
    pub p50_us: Option<u64>,
    /// 99th-percentile call time over the last 1,024 calls, in microseconds.
    pub p99_us: Option<u64>,
    /// Attribution plugins: the last fit on journeys since the plugin was loaded.
    pub last_fit: Option<FitDto>,
}

/// An installed plugin.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginDto {
    /// The library's SHA-256: the plugin's id.
    pub id: String,
    pub name: String,
    pub version: String,
    /// The vendor the manifest names (only when loaded).
    pub vendor: Option<String>,
    /// Capabilities the plugin declares (only when loaded).
    pub capabilities: Vec<CapabilityDto>,
    /// Capabilities the operator granted.
    pub granted: Vec<CapabilityDto>,
    /// The operator's choice; `state` says what is in effect.
    pub enabled: bool,
    pub state: PluginStateDto,
    /// Why the circuit breaker tripped, when quarantined.
    pub quarantine_reason: Option<String>,
    /// Why the plugin failed to load, when `state` is `failed`.
    pub load_error: Option<String>,
    /// The configuration in force (any JSON the plugin accepted).
    #[schema(value_type = Value)]
    pub config: serde_json::Value,
    pub installed_at: DateTime<Utc>,
    /// Present when loaded.
    pub stats: Option<PluginStatsDto>,
}

fn micros(duration: Option<std::time::Duration>) -> Option<u64> {
    duration.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl TryFrom<PluginStatus> for PluginDto {
    type Error = ApiError;

    fn try_from(status: PluginStatus) -> Result<Self, ApiError> {
        let granted = granted_of(&status.registration)?;
        let (vendor, capabilities) = match status.loaded {
            Some((vendor, capabilities)) => (Some(vendor), capabilities),
            None => (None, Vec::new()),
        };
        let (state, quarantine_reason) = match (&status.stats, &status.load_error) {
            (Some(stats), _) => match &stats.state {
                PluginState::Enabled => (PluginStateDto::Enabled, None),
                PluginState::Disabled => (PluginStateDto::Disabled, None),
                PluginState::Quarantined { reason } => {
                    (PluginStateDto::Quarantined, Some(reason.clone()))
                }
            },
            (None, Some(_)) => (PluginStateDto::Failed, None),
            (None, None) => (PluginStateDto::NotLoaded, None),
        };
        let registration = status.registration;
        Ok(PluginDto {
            id: registration.id,
            name: registration.name,
            version: registration.version,
            vendor,
            capabilities: capabilities.into_iter().map(CapabilityDto::from).collect(),
            granted: granted.into_iter().map(CapabilityDto::from).collect(),
            enabled: registration.enabled,
            state,
            quarantine_reason,
            load_error: status.load_error,
            config: registration.config,
            installed_at: registration.installed_at,
            stats: status.stats.map(|s| PluginStatsDto {
                calls: s.calls,
                failures: s.failures,
                consecutive_failures: s.consecutive_failures,
                p50_us: micros(s.p50),
                p99_us: micros(s.p99),
                last_fit: s.last_fit.map(FitDto::from),
            }),
        })
    }
}

/// Add a catalog plugin's products to a partner's catalog.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contribute {
    /// The partner whose catalog receives the products.
    pub partner_id: uuid::Uuid,
}

/// A source row the plugin skipped.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRowDto {
    /// 1-based line (CSV, header included) or record (JSON) number.
    pub line: u64,
    pub message: String,
}

/// What a contribution added.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionDto {
    pub products_created: usize,
    pub relations_created: usize,
    pub rejected: Vec<RejectedRowDto>,
}

/// One call to a plugin, with input in the method's message schema (docs/plugins.md).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallPlugin {
    /// `attribution.attribute`, `attribution.fit` or `commission.compute`.
    pub method: String,
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
}

/// The plugin's validated answer (`null` from `attribution.fit` when the model has no fit step).
#[derive(Debug, Serialize, ToSchema)]
pub struct CallResult {
    #[schema(value_type = Value)]
    pub output: serde_json::Value,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(install_plugin, list_plugins))
        .routes(routes!(get_plugin, remove_plugin))
        .routes(routes!(enable_plugin))
        .routes(routes!(disable_plugin))
        .routes(routes!(configure_plugin))
        .routes(routes!(contribute_catalog))
        .routes(routes!(call_plugin))
}

/// A path id that is not a digest names no plugin.
pub(super) fn id_of(text: &str) -> Result<PluginId, ApiError> {
    ops::plugin_id(text).map_err(|_| ApiError::not_found("plugin"))
}

pub(super) async fn show(state: &AppState, id: &PluginId) -> Result<Json<PluginDto>, ApiError> {
    let status = ops::get(state.store(), state.plugins(), id).await?;
    Ok(Json(status.try_into()?))
}

/// Install a plugin from a file on the server: pinned, copied, loaded, validated and
/// initialised. Any failure is its own problem code, and nothing is registered. An
/// attribution plugin is then fitted on recent journeys in the background.
#[utoipa::path(post, path = "/v1/plugins", operation_id = "install_plugin", tag = "plugins",
    request_body = InstallPlugin, security(("bearer" = [])),
    responses((status = 201, body = PluginDto), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`plugin_loading_interrupted`: the server is shutting down", body = Problem, content_type = "application/problem+json")))]
async fn install_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<InstallPlugin>,
) -> Result<(StatusCode, Json<PluginDto>), ApiError> {
    caller.require_operator()?;
    let granted = body.granted.into_iter().map(Capability::from).collect();
    let config = body.config.unwrap_or_else(|| serde_json::json!({}));
    let registration = ops::install(
        state.store(),
        state.plugins(),
        &PathBuf::from(body.path),
        &body.sha256,
        granted,
        config,
    )
    .await?;
    let id = id_of(&registration.id)?;
    refit(&state, &id);
    let shown = show(&state, &id).await?;
    Ok((StatusCode::CREATED, shown))
}

/// List installed plugins, including those that failed to load at start-up and why.
#[utoipa::path(get, path = "/v1/plugins", operation_id = "list_plugins", tag = "plugins",
    security(("bearer" = [])),
    responses((status = 200, body = Listed<PluginDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_plugins(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Listed<PluginDto>>, ApiError> {
    caller.require_operator()?;
    let items = ops::list(state.store(), state.plugins())
        .await?
        .into_iter()
        .map(PluginDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(Listed { items }))
}

/// Show a plugin with its state, call count, failures and p50/p99 call time.
#[utoipa::path(get, path = "/v1/plugins/{id}", operation_id = "get_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), security(("bearer" = [])),
    responses((status = 200, body = PluginDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<PluginDto>, ApiError> {
    caller.require_operator()?;
    show(&state, &id_of(&id)?).await
}

/// Let a plugin's calls through again; also lifts a quarantine and resets its breaker.
/// An attribution plugin is then fitted in the background.
#[utoipa::path(post, path = "/v1/plugins/{id}/enable", operation_id = "enable_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), security(("bearer" = [])),
    responses((status = 200, body = PluginDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn enable_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<PluginDto>, ApiError> {
    switch(state, caller, &id, true).await
}

/// Stop all calls to a plugin at once; callers fall back to the built-in models.
#[utoipa::path(post, path = "/v1/plugins/{id}/disable", operation_id = "disable_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), security(("bearer" = [])),
    responses((status = 200, body = PluginDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn disable_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<PluginDto>, ApiError> {
    switch(state, caller, &id, false).await
}

async fn switch(
    state: AppState,
    caller: Caller,
    id: &str,
    enabled: bool,
) -> Result<Json<PluginDto>, ApiError> {
    caller.require_operator()?;
    let id = id_of(id)?;
    ops::set_enabled(state.store(), state.plugins(), &id, enabled).await?;
    if enabled {
        refit(&state, &id);
    }
    show(&state, &id).await
}

/// A newly loaded, enabled or reconfigured attribution plugin is fitted in the
/// background; the request does not wait for it.
fn refit(state: &AppState, id: &PluginId) {
    fit::spawn_fit(
        state.store().clone(),
        state.plugins().clone(),
        id.clone(),
        state.config().plugin_fit,
    );
}

/// Reconfigure a plugin: its `init` runs with the new configuration, which is kept only
/// if accepted (the old one stays in force otherwise). A plugin that failed to load is
/// loaded with the new configuration. An attribution plugin, a new instance now, is
/// fitted again in the background.
#[utoipa::path(put, path = "/v1/plugins/{id}/config", operation_id = "configure_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), request_body = ConfigurePlugin,
    security(("bearer" = [])),
    responses((status = 200, body = PluginDto), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`plugin_loading_interrupted`: the server is shutting down", body = Problem, content_type = "application/problem+json")))]
async fn configure_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<ConfigurePlugin>,
) -> Result<Json<PluginDto>, ApiError> {
    caller.require_operator()?;
    let id = id_of(&id)?;
    ops::configure(state.store(), state.plugins(), &id, body.config).await?;
    refit(&state, &id);
    show(&state, &id).await
}

/// Remove a plugin: calls stop at once and its registration and stored library are
/// deleted (the code stays mapped until the server restarts).
#[utoipa::path(delete, path = "/v1/plugins/{id}", operation_id = "remove_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), security(("bearer" = [])),
    responses((status = 204), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn remove_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_operator()?;
    ops::remove(state.store(), state.plugins(), &id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a catalog plugin and add its products (all or none) and their relations to a
/// partner's catalog. Rows the plugin skipped are listed with their line numbers.
#[utoipa::path(post, path = "/v1/plugins/{id}/contributions", operation_id = "contribute_catalog", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), request_body = Contribute,
    security(("bearer" = [])),
    responses((status = 201, body = ContributionDto), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`plugin_failed`: the plugin answered an error, panicked, timed out or answered something invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`plugin_busy`: the plugin is being fitted", body = Problem, content_type = "application/problem+json")))]
async fn contribute_catalog(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<Contribute>,
) -> Result<(StatusCode, Json<ContributionDto>), ApiError> {
    caller.require_operator()?;
    let id = id_of(&id)?;
    let done = ops::contribute(
        state.store(),
        state.plugins(),
        &id,
        PartnerId(body.partner_id),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ContributionDto {
            products_created: done.products,
            relations_created: done.relations,
            rejected: done
                .rejected
                .into_iter()
                .map(|r| RejectedRowDto {
                    line: r.line,
                    message: r.message,
                })
                .collect(),
        }),
    ))
}

/// Call a plugin once with your own input, through the same limits, validation and
/// statistics as the platform's calls; a failure counts towards quarantine too.
#[utoipa::path(post, path = "/v1/plugins/{id}/calls", operation_id = "call_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), request_body = CallPlugin,
    security(("bearer" = [])),
    responses((status = 200, body = CallResult), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`plugin_failed`: the plugin answered an error, panicked, timed out or answered something invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`plugin_busy`: the plugin is being fitted", body = Problem, content_type = "application/problem+json")))]
async fn call_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<CallPlugin>,
) -> Result<Json<CallResult>, ApiError> {
    caller.require_operator()?;
    let id = id_of(&id)?;
    ops::require_loaded(state.store(), state.plugins(), &id).await?;
    let output = ops::call(state.plugins(), &id, &body.method, body.input).await?;
    Ok(Json(CallResult { output }))
}
