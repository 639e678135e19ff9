//! Relations between products: accessory, complementary, bundle member, competing, upgrade.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use cosell_core::catalog::relation::NewRelation;
use cosell_core::catalog::{Relation, RelationKind};
use cosell_core::{ProductId, RelationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, created};
use crate::state::AppState;

/// The kind of a relation. `competing` and `complementary` are symmetric.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationKindDto {
    Accessory,
    Complementary,
    BundleMember,
    Competing,
    Upgrade,
}

impl From<RelationKindDto> for RelationKind {
    fn from(k: RelationKindDto) -> Self {
        match k {
            RelationKindDto::Accessory => RelationKind::Accessory,
            RelationKindDto::Complementary => RelationKind::Complementary,
            RelationKindDto::BundleMember => RelationKind::BundleMember,
            RelationKindDto::Competing => RelationKind::Competing,
            RelationKindDto::Upgrade => RelationKind::Upgrade,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelation {
    pub kind: RelationKindDto,
    pub from_product_id: uuid::Uuid,
    pub to_product_id: uuid::Uuid,
    /// Strength in [0, 1]; default 1.
    #[schema(value_type = Option<String>, example = "0.8")]
    pub weight: Option<Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RelationDto {
    pub id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    /// accessory, complementary, bundle_member, competing or upgrade.
    pub kind: String,
    pub symmetric: bool,
    pub from_product_id: uuid::Uuid,
    pub to_product_id: uuid::Uuid,
    #[schema(value_type = String)]
    pub weight: Decimal,
    pub created_at: DateTime<Utc>,
}

impl From<Relation> for RelationDto {
    fn from(r: Relation) -> Self {
        RelationDto {
            id: r.id.0,
            partner_id: r.partner_id.0,
            kind: r.kind.as_str().to_owned(),
            symmetric: r.kind.is_symmetric(),
            from_product_id: r.from_product_id.0,
            to_product_id: r.to_product_id.0,
            weight: r.weight,
            created_at: r.created_at,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_relation))
        .routes(routes!(list_product_relations))
        .routes(routes!(delete_relation))
}

/// Relate two products; at least one must be the caller's, the other its own or an active partner's.
#[utoipa::path(post, path = "/v1/relations", operation_id = "create_relation", tag = "relations",
    request_body = CreateRelation, security(("bearer" = [])),
    responses((status = 201, body = RelationDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_relation(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreateRelation>,
) -> Result<Response, ApiError> {
    let owner = caller.partner()?;
    let new = NewRelation::parse(
        body.kind.into(),
        ProductId(body.from_product_id),
        ProductId(body.to_product_id),
        body.weight.unwrap_or(Decimal::ONE),
    )?;
    let relation = state.store().create_relation(owner, new).await?;
    Ok(created(1, RelationDto::from(relation)))
}

/// Every relation of a product, in either direction, that the caller declared. Takes no
/// query parameters.
#[utoipa::path(get, path = "/v1/products/{id}/relations", operation_id = "list_product_relations", tag = "relations",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Listed<RelationDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_product_relations(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<ProductId>,
) -> Result<Json<Listed<RelationDto>>, ApiError> {
    let relations = state.store().relations_of(caller.tenant(), id).await?;
    Ok(Json(Listed {
        items: relations.into_iter().map(RelationDto::from).collect(),
    }))
}

/// Delete a relation.
#[utoipa::path(delete, path = "/v1/relations/{id}", operation_id = "delete_relation", tag = "relations",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn delete_relation(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<RelationId>,
) -> Result<StatusCode, ApiError> {
    caller.partner()?;
    state.store().delete_relation(caller.tenant(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
