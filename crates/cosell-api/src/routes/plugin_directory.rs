//! `GET /v1/plugins/nameable`: the plugins a partner may name in a partnership or as its
//! default model. Partnerships name a plugin by its id (the library's SHA-256), which only
//! operators could read before; partners see what naming needs and nothing of the
//! operator's view (configuration, load errors, statistics).

use axum::Json;
use axum::extract::State;
use cosell_plugin_abi::Capability;
use cosell_plugin_host::PluginState;
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
/// enabled, not quarantined, and both declaring and granted the capability (exactly what
/// naming one checks). A plugin that stops answering later is still named; attribution
/// falls back and records why.
#[utoipa::path(get, path = "/v1/plugins/nameable", operation_id = "list_nameable_plugins", tag = "plugins",
    security(("bearer" = [])),
    responses((status = 200, body = Listed<NameablePluginDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_nameable_plugins(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Listed<NameablePluginDto>>, ApiError> {
    let mut items = Vec::new();
    for status in ops::list(state.store(), state.plugins()).await? {
        let enabled = status
            .stats
            .as_ref()
            .is_some_and(|s| s.state == PluginState::Enabled);
        let Some((vendor, declared)) = status.loaded.filter(|_| enabled) else {
            continue;
        };
        let granted = ops::granted_of(&status.registration)?;
        let capabilities: Vec<CapabilityDto> = [Capability::Attribution, Capability::Commission]
            .into_iter()
            .filter(|c| declared.contains(c) && granted.contains(c))
            .map(CapabilityDto::from)
            .collect();
        if !capabilities.is_empty() {
            items.push(NameablePluginDto {
                id: status.registration.id,
                name: status.registration.name,
                version: status.registration.version,
                vendor,
                capabilities,
            });
        }
    }
    Ok(Json(Listed { items }))
}
