//! Partners: operators create, list and suspend them; a partner reads itself.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_core::catalog::partner::NewPartner;
use cosell_core::catalog::{Partner, PartnerStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{PageParams, Paged};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery, Tagged, created};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    pub name: String,
    /// Unique handle: 2-63 characters of a-z, 0-9 and inner dashes.
    pub slug: String,
    pub contact_email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerDto {
    pub id: uuid::Uuid,
    pub name: String,
    pub slug: String,
    /// `active` or `suspended`.
    pub status: String,
    pub contact_email: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Partner> for PartnerDto {
    fn from(p: Partner) -> Self {
        PartnerDto {
            id: p.id.0,
            name: p.name,
            slug: p.slug.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            contact_email: p.contact_email.as_str().to_owned(),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn tagged(p: Partner) -> Tagged<PartnerDto> {
    Tagged(p.version, p.into())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_partner, list_partners))
        .routes(routes!(get_own_partner))
        .routes(routes!(get_partner))
        .routes(routes!(suspend_partner))
        .routes(routes!(reactivate_partner))
}

/// Create a partner (operator).
#[utoipa::path(post, path = "/v1/partners", operation_id = "create_partner", tag = "partners",
    request_body = CreatePartner, security(("bearer" = [])),
    responses((status = 201, body = PartnerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_partner(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreatePartner>,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let new = NewPartner::parse(&body.name, &body.slug, &body.contact_email)?;
    let partner = state.store().create_partner(new).await?;
    Ok(created(partner.version, PartnerDto::from(partner)))
}

/// List partners (operator), oldest first.
#[utoipa::path(get, path = "/v1/partners", operation_id = "list_partners", tag = "partners",
    params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Paged<PartnerDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_partners(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(page): AppQuery<PageParams>,
) -> Result<axum::Json<Paged<PartnerDto>>, ApiError> {
    caller.require_operator()?;
    let found = state
        .store()
        .list_partners(page.cursor, page.limit()?)
        .await?;
    Ok(axum::Json(Paged::from_page(found, PartnerDto::from)))
}

/// The calling partner's own record.
#[utoipa::path(get, path = "/v1/partners/me", operation_id = "get_own_partner", tag = "partners",
    security(("bearer" = [])),
    responses((status = 200, body = PartnerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_own_partner(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Tagged<PartnerDto>, ApiError> {
    let id = caller.partner()?;
    Ok(tagged(
        state.store().get_partner(caller.tenant(), id).await?,
    ))
}

/// One partner: operators see any, a partner only itself.
#[utoipa::path(get, path = "/v1/partners/{id}", operation_id = "get_partner", tag = "partners",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_partner(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnerId>,
) -> Result<Tagged<PartnerDto>, ApiError> {
    Ok(tagged(
        state.store().get_partner(caller.tenant(), id).await?,
    ))
}

async fn set_status(
    state: &AppState,
    caller: Caller,
    id: PartnerId,
    status: PartnerStatus,
) -> Result<Tagged<PartnerDto>, ApiError> {
    caller.require_operator()?;
    let partner = state.store().set_partner_status(id, status).await?;
    // The partner's keys must stop (or start) working on their next request.
    state.standings().invalidate();
    Ok(tagged(partner))
}

/// Suspend a partner (operator): its tokens stop working on their next request to this
/// server, and within 5 seconds on other instances of it.
#[utoipa::path(post, path = "/v1/partners/{id}/suspend", operation_id = "suspend_partner", tag = "partners",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn suspend_partner(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnerId>,
) -> Result<Tagged<PartnerDto>, ApiError> {
    set_status(&state, caller, id, PartnerStatus::Suspended).await
}

/// Reactivate a suspended partner (operator).
#[utoipa::path(post, path = "/v1/partners/{id}/reactivate", operation_id = "reactivate_partner", tag = "partners",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn reactivate_partner(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnerId>,
) -> Result<Tagged<PartnerDto>, ApiError> {
    set_status(&state, caller, id, PartnerStatus::Active).await
}
