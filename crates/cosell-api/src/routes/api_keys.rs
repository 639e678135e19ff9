//! API keys: created (secret shown once), listed by prefix, revoked.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_core::{ApiKeyId, PartnerId, Role, ValidationErrors};
use cosell_store::api_keys::{ApiKey, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::{Caller, keys};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    Operator,
    Partner,
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Operator => Role::Operator,
            RoleDto::Partner => Role::Partner,
        }
    }
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Operator => RoleDto::Operator,
            Role::Partner => RoleDto::Partner,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for, e.g. "checkout integration".
    pub name: String,
    /// Operators: the partner the key acts for. Omit for an operator key (with `role: operator`).
    /// Partners: omit (a partner creates keys only for itself).
    pub partner_id: Option<uuid::Uuid>,
    /// `partner` (default) or `operator` (operators only).
    pub role: Option<RoleDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: uuid::Uuid,
    pub name: String,
    /// The visible part of the key, to recognise it.
    pub prefix: String,
    pub role: RoleDto,
    pub partner_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key with its secret: shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyDto,
    pub secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyFilter {
    /// Operators: only this partner's keys.
    pub partner_id: Option<uuid::Uuid>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        ApiKeyDto {
            id: k.id.0,
            name: k.name,
            prefix: k.prefix,
            role: k.role.into(),
            partner_id: k.partner_id.map(|p| p.0),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

/// Create an API key. The secret is in this response only.
#[utoipa::path(post, path = "/v1/api-keys", operation_id = "create_api_key", tag = "api-keys",
    request_body = CreateApiKey, security(("bearer" = [])),
    responses((status = 201, body = CreatedApiKey), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreateApiKey>,
) -> Result<Response, ApiError> {
    // Every bad field at once, as with every other body.
    let mut errors = ValidationErrors::default();
    let name = errors.take(keys::parse_name(&body.name));
    let role = body.role.map_or(Role::Partner, Role::from);
    let partner_id = match (caller.role, role, body.partner_id) {
        (Role::Operator, Role::Operator, None) => None,
        (Role::Operator, Role::Partner, Some(id)) => Some(PartnerId(id)),
        (Role::Operator, Role::Operator, Some(_)) => {
            errors.push(
                "partner_id",
                "an operator key belongs to no partner: omit it",
            );
            None
        }
        (Role::Operator, Role::Partner, None) => {
            errors.push("partner_id", "required: the partner the key acts for");
            None
        }
        (Role::Partner, Role::Partner, None) => caller.partner_id,
        (Role::Partner, Role::Partner, Some(id)) if Some(PartnerId(id)) == caller.partner_id => {
            caller.partner_id
        }
        (Role::Partner, Role::Operator, _) => {
            return Err(ApiError::forbidden(
                "only an operator can create operator keys",
            ));
        }
        (Role::Partner, Role::Partner, Some(_)) => {
            return Err(ApiError::forbidden(
                "a partner can create keys only for itself",
            ));
        }
    };
    errors.into_result()?;
    // Present: a name that did not parse was reported above.
    let name = name.ok_or_else(ApiError::internal)?;
    let generated = keys::generate()?;
    let key = state
        .store()
        .create_api_key(NewApiKey {
            partner_id,
            role,
            name,
            prefix: generated.prefix,
            secret_hash: generated.hash,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key: key.into(),
            secret: generated.secret,
        }),
    )
        .into_response())
}

/// List API keys: a partner sees its own, an operator all (or one partner's).
#[utoipa::path(get, path = "/v1/api-keys", operation_id = "list_api_keys", tag = "api-keys",
    params(ApiKeyFilter), security(("bearer" = [])),
    responses((status = 200, body = Listed<ApiKeyDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(filter): AppQuery<ApiKeyFilter>,
) -> Result<Json<Listed<ApiKeyDto>>, ApiError> {
    let keys = state
        .store()
        .list_api_keys(caller.tenant(), filter.partner_id.map(PartnerId))
        .await?;
    Ok(Json(Listed {
        items: keys.into_iter().map(ApiKeyDto::from).collect(),
    }))
}

/// Revoke an API key: tokens minted from it stop working at once on this server, and
/// within 5 seconds on other instances of it.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", operation_id = "revoke_api_key", tag = "api-keys",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ApiKeyDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<ApiKeyId>,
) -> Result<Json<ApiKeyDto>, ApiError> {
    let key = state.store().revoke_api_key(caller.tenant(), id).await?;
    // Tokens of the key must stop working on their next request, not when the cache expires.
    state.standings().invalidate();
    Ok(Json(key.into()))
}
