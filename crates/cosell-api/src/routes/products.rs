//! Products: a partner's catalog, with bulk create, filters and cursor pagination.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_core::catalog::product::ProductInput;
use cosell_core::catalog::{Product, ProductFields};
use cosell_core::{PartnerId, ProductId, ValidationErrors};
use cosell_store::products::ProductFilter;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{PageParams, Paged};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery, Tagged, created, expected_version};
use crate::state::AppState;

/// Most products one bulk request may create.
const MAX_BULK: usize = 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// Unique within the partner's catalog.
    pub sku: String,
    pub title: String,
    pub category: String,
    /// Decimal string in the currency's major units, e.g. "199.99" (at most as many
    /// decimal places as the currency has minor units).
    #[schema(value_type = String, example = "199.99")]
    pub price: Decimal,
    /// Decimal string in the currency's major units, like `price`.
    #[schema(value_type = String, example = "120.00")]
    pub unit_cost: Decimal,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// Free-form JSON object; may be left out (an empty object).
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

impl From<CreateProduct> for ProductInput {
    fn from(p: CreateProduct) -> Self {
        ProductInput {
            sku: p.sku,
            title: p.title,
            category: p.category,
            price: p.price,
            unit_cost: p.unit_cost,
            currency: p.currency,
            active: p.active,
            attributes: p.attributes,
        }
    }
}

/// Fields to change; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    pub sku: Option<String>,
    pub title: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = Option<String>)]
    pub price: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub unit_cost: Option<Decimal>,
    pub currency: Option<String>,
    pub active: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkCreateProducts {
    /// 1 to 1000 products, created all together or not at all.
    pub products: Vec<CreateProduct>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    pub id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    pub sku: String,
    pub title: String,
    pub category: String,
    #[schema(value_type = String)]
    pub price: Decimal,
    #[schema(value_type = String)]
    pub unit_cost: Decimal,
    pub currency: String,
    pub active: bool,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            id: p.id.0,
            partner_id: p.partner_id.0,
            sku: p.fields.sku,
            title: p.fields.title,
            category: p.fields.category,
            price: p.fields.price,
            unit_cost: p.fields.unit_cost,
            currency: p.fields.currency.code().to_owned(),
            active: p.fields.active,
            attributes: p.fields.attributes,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkCreated {
    pub items: Vec<ProductDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    pub category: Option<String>,
    pub active: Option<bool>,
    pub sku: Option<String>,
    /// Operators: only this partner's products.
    pub partner_id: Option<uuid::Uuid>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<uuid::Uuid>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_product, list_products))
        .routes(routes!(bulk_create_products))
        .routes(routes!(get_product, update_product, delete_product))
}

/// Create a product in the caller's catalog.
#[utoipa::path(post, path = "/v1/products", operation_id = "create_product", tag = "products",
    request_body = CreateProduct, security(("bearer" = [])),
    responses((status = 201, body = ProductDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreateProduct>,
) -> Result<Response, ApiError> {
    let owner = caller.partner()?;
    let fields = ProductFields::parse(body.into())?;
    let product = state.store().create_product(owner, fields).await?;
    Ok(created(product.version, ProductDto::from(product)))
}

/// Create up to 1000 products at once: all are stored, or none (every bad one is reported
/// with its index, e.g. `products[3].price`).
#[utoipa::path(post, path = "/v1/products/bulk", operation_id = "bulk_create_products", tag = "products",
    request_body = BulkCreateProducts, security(("bearer" = [])),
    responses((status = 201, body = BulkCreated), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn bulk_create_products(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<BulkCreateProducts>,
) -> Result<Response, ApiError> {
    let owner = caller.partner()?;
    if body.products.is_empty() || body.products.len() > MAX_BULK {
        return Err(ValidationErrors::from(cosell_core::ValidationError::new(
            "products",
            format!("give 1 to {MAX_BULK} products, got {}", body.products.len()),
        ))
        .into());
    }
    let mut errors = ValidationErrors::default();
    let mut all = Vec::with_capacity(body.products.len());
    for (index, product) in body.products.into_iter().enumerate() {
        match ProductFields::parse(product.into()) {
            Ok(fields) => all.push(fields),
            Err(bad) => {
                for e in bad.0 {
                    errors.push(format!("products[{index}].{}", e.field), e.message);
                }
            }
        }
    }
    errors.into_result()?;
    let created = state.store().create_products(owner, all).await?;
    Ok((
        StatusCode::CREATED,
        Json(BulkCreated {
            items: created.into_iter().map(ProductDto::from).collect(),
        }),
    )
        .into_response())
}

/// List products, filtered by category, active flag or SKU, oldest first.
#[utoipa::path(get, path = "/v1/products", operation_id = "list_products", tag = "products",
    params(ProductQuery), security(("bearer" = [])),
    responses((status = 200, body = Paged<ProductDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_products(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<ProductQuery>,
) -> Result<Json<Paged<ProductDto>>, ApiError> {
    let limit = PageParams {
        cursor: q.cursor,
        limit: q.limit,
    }
    .limit()?;
    let filter = ProductFilter {
        category: q.category,
        active: q.active,
        sku: q.sku,
        partner_id: q.partner_id.map(PartnerId),
    };
    let page = state
        .store()
        .list_products(caller.tenant(), filter, q.cursor, limit)
        .await?;
    Ok(Json(Paged::from_page(page, ProductDto::from)))
}

/// One product.
#[utoipa::path(get, path = "/v1/products/{id}", operation_id = "get_product", tag = "products",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_product(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<ProductId>,
) -> Result<Tagged<ProductDto>, ApiError> {
    let product = state.store().get_product(caller.tenant(), id).await?;
    Ok(Tagged(product.version, product.into()))
}

/// Change a product. Send `If-Match` with the ETag you read; a stale one is a 412. A change
/// that leaves the product as it is keeps its version and ETag.
#[utoipa::path(patch, path = "/v1/products/{id}", operation_id = "update_product", tag = "products",
    request_body = UpdateProduct, params(("id" = uuid::Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppPath(id): AppPath<ProductId>,
    AppJson(body): AppJson<UpdateProduct>,
) -> Result<Tagged<ProductDto>, ApiError> {
    caller.partner()?;
    let version = expected_version(&headers)?;
    let product = state
        .store()
        .update_product(caller.tenant(), id, version, |current| ProductInput {
            sku: body.sku.unwrap_or(current.sku),
            title: body.title.unwrap_or(current.title),
            category: body.category.unwrap_or(current.category),
            price: body.price.unwrap_or(current.price),
            unit_cost: body.unit_cost.unwrap_or(current.unit_cost),
            currency: body.currency.unwrap_or(current.currency),
            active: body.active.unwrap_or(current.active),
            attributes: body.attributes.or(current.attributes),
        })
        .await?;
    Ok(Tagged(product.version, product.into()))
}

/// Delete a product (409 `product_in_use` while a bundle holds it, an offer offers it, or an
/// offer that is not archived has it as an anchor).
#[utoipa::path(delete, path = "/v1/products/{id}", operation_id = "delete_product", tag = "products",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn delete_product(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<ProductId>,
) -> Result<StatusCode, ApiError> {
    caller.partner()?;
    state.store().delete_product(caller.tenant(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
