//! Bundles: discounted product sets whose margin must stay above a floor.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use cosell_core::catalog::bundle::BundlePricing;
use cosell_core::catalog::{Bundle, BundleTerms, MarginInputs};
use cosell_core::{BundleId, ProductId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, Tagged, created, expected_version};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBundle {
    pub name: String,
    /// ISO 4217 code; every product must be priced in it.
    pub currency: String,
    /// Percentage off the summed list price, 0 to 100.
    #[schema(value_type = String, example = "10")]
    pub discount_percent: Decimal,
    /// Least acceptable margin (discounted price − summed unit cost), in the bundle
    /// currency; 0 or more.
    #[schema(value_type = String, example = "25.00")]
    pub margin_floor: Decimal,
    /// At least two distinct products of the caller.
    pub product_ids: Vec<uuid::Uuid>,
}

/// Fields to change; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBundle {
    pub name: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = Option<String>)]
    pub discount_percent: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub margin_floor: Option<Decimal>,
    pub product_ids: Option<Vec<uuid::Uuid>>,
}

/// A bundle's prices at its discount, from its products' current prices.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricingDto {
    #[schema(value_type = String)]
    pub list_price: Decimal,
    #[schema(value_type = String)]
    pub price: Decimal,
    #[schema(value_type = String)]
    pub cost: Decimal,
    #[schema(value_type = String)]
    pub margin: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BundleDto {
    pub id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    pub name: String,
    pub currency: String,
    #[schema(value_type = String)]
    pub discount_percent: Decimal,
    #[schema(value_type = String)]
    pub margin_floor: Decimal,
    pub product_ids: Vec<uuid::Uuid>,
    /// Absent when a member's price changed so that the bundle no longer meets its floor.
    pub pricing: Option<PricingDto>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn dto(b: Bundle, pricing: Option<BundlePricing>) -> BundleDto {
    BundleDto {
        id: b.id.0,
        partner_id: b.partner_id.0,
        name: b.terms.name,
        currency: b.terms.currency.code().to_owned(),
        discount_percent: b.terms.discount_percent,
        margin_floor: b.terms.margin_floor,
        product_ids: b.product_ids.into_iter().map(|p| p.0).collect(),
        pricing: pricing.map(|p| PricingDto {
            list_price: p.list_price,
            price: p.price,
            cost: p.cost,
            margin: p.margin,
        }),
        version: b.version,
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_bundle, list_bundles))
        .routes(routes!(get_bundle, update_bundle, delete_bundle))
}

fn ids(raw: Vec<uuid::Uuid>) -> Vec<ProductId> {
    raw.into_iter().map(ProductId).collect()
}

/// Create a bundle; refused with the numbers, on `discount_percent` and `margin_floor`, when
/// its discounted price would leave a margin under the floor.
#[utoipa::path(post, path = "/v1/bundles", operation_id = "create_bundle", tag = "bundles",
    request_body = CreateBundle, security(("bearer" = [])),
    responses((status = 201, body = BundleDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_bundle(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreateBundle>,
) -> Result<Response, ApiError> {
    let owner = caller.partner()?;
    let products = ids(body.product_ids);
    let terms = BundleTerms::parse(
        &body.name,
        &body.currency,
        body.discount_percent,
        body.margin_floor,
        &products,
    )?;
    let (bundle, pricing) = state.store().create_bundle(owner, terms, products).await?;
    Ok(created(bundle.version, dto(bundle, Some(pricing))))
}

/// List the caller's bundles, each with its current pricing as `GET /v1/bundles/{id}` shows
/// it. Takes no query parameters (it is not paginated): `limit` too is a 400.
#[utoipa::path(get, path = "/v1/bundles", operation_id = "list_bundles", tag = "bundles", security(("bearer" = [])),
    responses((status = 200, body = Listed<BundleDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_bundles(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Listed<BundleDto>>, ApiError> {
    let bundles = state.store().list_bundles(caller.tenant()).await?;
    Ok(Json(Listed {
        items: bundles.into_iter().map(|(b, p)| dto(b, p)).collect(),
    }))
}

/// One bundle with its current pricing.
#[utoipa::path(get, path = "/v1/bundles/{id}", operation_id = "get_bundle", tag = "bundles",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = BundleDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_bundle(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<BundleId>,
) -> Result<Tagged<BundleDto>, ApiError> {
    let (bundle, pricing) = state.store().get_bundle(caller.tenant(), id).await?;
    Ok(Tagged(bundle.version, dto(bundle, pricing)))
}

/// Change a bundle (`If-Match` required); the margin floor is re-checked, and a margin
/// under it is reported on the pricing fields the request set (`discount_percent`,
/// `margin_floor`, or `product_ids` when it set neither). A change that leaves the bundle
/// as it is keeps its version and ETag.
#[utoipa::path(patch, path = "/v1/bundles/{id}", operation_id = "update_bundle", tag = "bundles",
    request_body = UpdateBundle, params(("id" = uuid::Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])),
    responses((status = 200, body = BundleDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn update_bundle(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppPath(id): AppPath<BundleId>,
    AppJson(body): AppJson<UpdateBundle>,
) -> Result<Tagged<BundleDto>, ApiError> {
    caller.partner()?;
    let version = expected_version(&headers)?;
    let set = MarginInputs {
        discount_percent: body.discount_percent.is_some(),
        margin_floor: body.margin_floor.is_some(),
        product_ids: body.product_ids.is_some(),
    };
    let (bundle, pricing) = state
        .store()
        .update_bundle(caller.tenant(), id, version, set, |current| {
            let t = &current.terms;
            let products = body
                .product_ids
                .map_or_else(|| current.product_ids.clone(), ids);
            let terms = BundleTerms::parse(
                body.name.as_deref().unwrap_or(&t.name),
                body.currency.as_deref().unwrap_or(t.currency.code()),
                body.discount_percent.unwrap_or(t.discount_percent),
                body.margin_floor.unwrap_or(t.margin_floor),
                &products,
            )?;
            Ok((terms, products))
        })
        .await?;
    Ok(Tagged(bundle.version, dto(bundle, pricing)))
}

/// Delete a bundle.
#[utoipa::path(delete, path = "/v1/bundles/{id}", operation_id = "delete_bundle", tag = "bundles",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn delete_bundle(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<BundleId>,
) -> Result<StatusCode, ApiError> {
    caller.partner()?;
    state.store().delete_bundle(caller.tenant(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
