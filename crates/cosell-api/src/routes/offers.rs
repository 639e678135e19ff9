//! Offers: a partner's product published as a complement to anchor products or a category.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use cosell_core::catalog::offer::{OfferAction, OfferInput};
use cosell_core::catalog::{Channel, Offer, OfferStatus, OfferTerms};
use cosell_core::{OfferId, PartnerId, ProductId};
use cosell_store::offers::OfferFilter;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery, Tagged, created, expected_version};
use crate::state::AppState;

/// Where an offer may be shown.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Checkout,
    PostPurchaseEmail,
    Support,
    Phone,
}

impl From<ChannelDto> for Channel {
    fn from(c: ChannelDto) -> Self {
        match c {
            ChannelDto::Checkout => Channel::Checkout,
            ChannelDto::PostPurchaseEmail => Channel::PostPurchaseEmail,
            ChannelDto::Support => Channel::Support,
            ChannelDto::Phone => Channel::Phone,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOffer {
    /// One of the caller's own products.
    pub product_id: uuid::Uuid,
    /// Whose products the offer complements: the caller (default) or a partner with an active partnership.
    pub anchor_partner_id: Option<uuid::Uuid>,
    /// Anchor products of the anchor partner.
    #[serde(default)]
    pub anchor_product_ids: Vec<uuid::Uuid>,
    /// An anchor category of the anchor partner.
    pub anchor_category: Option<String>,
    #[schema(value_type = String, example = "10")]
    pub discount_percent: Decimal,
    pub channels: Vec<ChannelDto>,
    /// Default: now.
    #[serde(default, deserialize_with = "crate::instants::optional_instant")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::instants::optional_instant")]
    pub valid_to: Option<DateTime<Utc>>,
    /// Most times the offer is shown to one customer in 7 days (counted from recorded
    /// impressions; absent: no cap of its own).
    pub per_customer_cap: Option<i32>,
}

/// Fields to change; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOffer {
    pub anchor_product_ids: Option<Vec<uuid::Uuid>>,
    pub anchor_category: Option<String>,
    #[schema(value_type = Option<String>)]
    pub discount_percent: Option<Decimal>,
    pub channels: Option<Vec<ChannelDto>>,
    #[serde(default, deserialize_with = "crate::instants::optional_instant")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::instants::optional_instant")]
    pub valid_to: Option<DateTime<Utc>>,
    pub per_customer_cap: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferDto {
    pub id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    pub product_id: uuid::Uuid,
    pub anchor_partner_id: uuid::Uuid,
    pub anchor_product_ids: Vec<uuid::Uuid>,
    pub anchor_category: Option<String>,
    #[schema(value_type = String)]
    pub discount_percent: Decimal,
    /// checkout, post_purchase_email, support, phone.
    pub channels: Vec<String>,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub per_customer_cap: Option<i32>,
    /// draft, active, paused or archived.
    pub status: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Offer> for OfferDto {
    fn from(o: Offer) -> Self {
        let t = o.terms;
        OfferDto {
            id: o.id.0,
            partner_id: o.partner_id.0,
            product_id: t.product_id.0,
            anchor_partner_id: t.anchor_partner_id.0,
            anchor_product_ids: t.anchor_product_ids.into_iter().map(|p| p.0).collect(),
            anchor_category: t.anchor_category,
            discount_percent: t.discount_percent,
            channels: t
                .channels
                .into_iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            valid_from: t.valid_from,
            valid_to: t.valid_to,
            per_customer_cap: t.per_customer_cap,
            status: o.status.as_str().to_owned(),
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    /// draft, active, paused or archived.
    pub status: Option<String>,
    /// Only offers anchored on this product.
    pub anchor_product_id: Option<uuid::Uuid>,
}

fn tagged(o: Offer) -> Tagged<OfferDto> {
    Tagged(o.version, o.into())
}

fn products(ids: Vec<uuid::Uuid>) -> Vec<ProductId> {
    ids.into_iter().map(ProductId).collect()
}

fn channels(dtos: Vec<ChannelDto>) -> Vec<Channel> {
    dtos.into_iter().map(Channel::from).collect()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_offer, list_offers))
        .routes(routes!(get_offer, update_offer, delete_offer))
        .routes(routes!(publish_offer))
        .routes(routes!(pause_offer))
        .routes(routes!(archive_offer))
}

/// Create a draft offer. Refused when the product competes with an anchor, or when the
/// anchors are another partner's without an active partnership.
#[utoipa::path(post, path = "/v1/offers", operation_id = "create_offer", tag = "offers",
    request_body = CreateOffer, security(("bearer" = [])),
    responses((status = 201, body = OfferDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_offer(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreateOffer>,
) -> Result<Response, ApiError> {
    let owner = caller.partner()?;
    let terms = OfferTerms::parse(OfferInput {
        product_id: ProductId(body.product_id),
        anchor_partner_id: body.anchor_partner_id.map_or(owner, PartnerId),
        anchor_product_ids: products(body.anchor_product_ids),
        anchor_category: body.anchor_category,
        discount_percent: body.discount_percent,
        channels: channels(body.channels),
        valid_from: body.valid_from.unwrap_or_else(Utc::now),
        valid_to: body.valid_to,
        per_customer_cap: body.per_customer_cap,
    })?;
    let offer = state.store().create_offer(owner, terms).await?;
    Ok(created(offer.version, OfferDto::from(offer)))
}

/// The caller's offers, by status and anchor product.
#[utoipa::path(get, path = "/v1/offers", operation_id = "list_offers", tag = "offers",
    params(OfferQuery), security(("bearer" = [])),
    responses((status = 200, body = Listed<OfferDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_offers(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<OfferQuery>,
) -> Result<Json<Listed<OfferDto>>, ApiError> {
    let status = q
        .status
        .map(|s| {
            OfferStatus::parse(&s)
                .ok_or_else(|| ApiError::bad_request(format!("unknown status '{s}'")))
        })
        .transpose()?;
    let filter = OfferFilter {
        status,
        anchor_product_id: q.anchor_product_id.map(ProductId),
    };
    let offers = state.store().list_offers(caller.tenant(), filter).await?;
    Ok(Json(Listed {
        items: offers.into_iter().map(OfferDto::from).collect(),
    }))
}

/// One offer.
#[utoipa::path(get, path = "/v1/offers/{id}", operation_id = "get_offer", tag = "offers",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OfferDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_offer(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
) -> Result<Tagged<OfferDto>, ApiError> {
    Ok(tagged(state.store().get_offer(caller.tenant(), id).await?))
}

/// Change an offer's terms (`If-Match` required); archived offers are final. A change that
/// leaves the terms as they are keeps the offer's version and ETag.
#[utoipa::path(patch, path = "/v1/offers/{id}", operation_id = "update_offer", tag = "offers",
    request_body = UpdateOffer, params(("id" = uuid::Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])),
    responses((status = 200, body = OfferDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn update_offer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppPath(id): AppPath<OfferId>,
    AppJson(body): AppJson<UpdateOffer>,
) -> Result<Tagged<OfferDto>, ApiError> {
    caller.partner()?;
    let version = expected_version(&headers)?;
    let offer = state
        .store()
        .update_offer(caller.tenant(), id, version, |current| {
            let t = current.terms.clone();
            Ok(OfferTerms::parse(OfferInput {
                product_id: t.product_id,
                anchor_partner_id: t.anchor_partner_id,
                anchor_product_ids: body
                    .anchor_product_ids
                    .map_or(t.anchor_product_ids, products),
                anchor_category: body.anchor_category.or(t.anchor_category),
                discount_percent: body.discount_percent.unwrap_or(t.discount_percent),
                channels: body.channels.map_or(t.channels, channels),
                valid_from: body.valid_from.unwrap_or(t.valid_from),
                valid_to: body.valid_to.or(t.valid_to),
                per_customer_cap: body.per_customer_cap.or(t.per_customer_cap),
            })?)
        })
        .await?;
    Ok(tagged(offer))
}

/// Delete a draft offer (published offers are archived instead, to keep their history).
#[utoipa::path(delete, path = "/v1/offers/{id}", operation_id = "delete_offer", tag = "offers",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn delete_offer(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
) -> Result<StatusCode, ApiError> {
    caller.partner()?;
    state.store().delete_offer(caller.tenant(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn act(
    state: &AppState,
    caller: Caller,
    id: OfferId,
    action: OfferAction,
) -> Result<Tagged<OfferDto>, ApiError> {
    caller.partner()?;
    Ok(tagged(
        state
            .store()
            .act_on_offer(caller.tenant(), id, action)
            .await?,
    ))
}

/// Publish a draft or resume a paused offer (re-checks the partnership and competition).
#[utoipa::path(post, path = "/v1/offers/{id}/publish", operation_id = "publish_offer", tag = "offers",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OfferDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn publish_offer(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
) -> Result<Tagged<OfferDto>, ApiError> {
    act(&state, caller, id, OfferAction::Publish).await
}

/// Pause an active offer.
#[utoipa::path(post, path = "/v1/offers/{id}/pause", operation_id = "pause_offer", tag = "offers",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OfferDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn pause_offer(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
) -> Result<Tagged<OfferDto>, ApiError> {
    act(&state, caller, id, OfferAction::Pause).await
}

/// Archive an offer; archived offers are final.
#[utoipa::path(post, path = "/v1/offers/{id}/archive", operation_id = "archive_offer", tag = "offers",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OfferDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn archive_offer(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
) -> Result<Tagged<OfferDto>, ApiError> {
    act(&state, caller, id, OfferAction::Archive).await
}
