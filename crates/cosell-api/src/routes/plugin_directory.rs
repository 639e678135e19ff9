//! `GET /v1/plugins/nameable`: the plugins a partner may name in a partnership or as its
//! default model. Partnerships name a plugin by its id (the library's SHA-256), which only
//! operators could read before; partners see what naming needs and nothing of the
//! operator's view (configuration, load errors, statistics).

use axum::Json;
use axum::extract::State;
use cosell_plugin_abi::Capability;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use super::plugins::CapabilityDto;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::plugins as ops;
use crate::state::AppState;

/// A plugin that can be named now.
#[derive(Debug, Serialize, ToSchema)]
pub struct NameablePluginDto {
    /// The library's SHA-256: what `attribution_model.plugin_id` and
    /// `commission_plugin_id` take.
    pub id: String,
    pub name: String,
    pub version: String,
    pub vendor: String,
    /// What it may be named for: `attribution` (a model) and/or `commission` (a rule).
    pub capabilities: Vec<CapabilityDto>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_nameable_plugins))
}

/// The plugins any caller may name as an attribution model or commission rule: loaded,
/// enabled, not quarantined, and both declaring and granted the capability (the check
/// naming one makes, `plugins::nameable`). A plugin that stops answering later is still named; attribution
/// falls back and records why.
#[utoipa::path(get, path = "/v1/plugins/nameable", operation_id = "list_nameable_plugins", tag = "plugins",
    security(("bearer" = [])),
    responses((status = 200, body = Listed<NameablePluginDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_nameable_plugins(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Listed<NameablePluginDto>>, ApiError> {
    let registry = state.plugins();
    let mut items = Vec::new();
    for registration in state.store().list_plugins().await? {
        let Ok(id) = ops::plugin_id(&registration.id) else {
            continue;
        };
        let capabilities: Vec<CapabilityDto> = [Capability::Attribution, Capability::Commission]
            .into_iter()
            .filter(|c| ops::nameable(registry, &id, *c).is_ok())
            .map(CapabilityDto::from)
            .collect();
        // Nameable means loaded, so the registry has the manifest.
        let Some(info) = registry.info(&id).filter(|_| !capabilities.is_empty()) else {
            continue;
        };
        items.push(NameablePluginDto {
            id: registration.id,
            name: registration.name,
            version: registration.version,
            vendor: info.manifest.vendor,
            capabilities,
        });
    }
    Ok(Json(Listed { items }))
}
