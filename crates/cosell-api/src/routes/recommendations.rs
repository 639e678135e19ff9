//! Cross-sell recommendations: ranked items with readable reasons, or the guardrail that
//! suppressed them.

use axum::Json;
use axum::extract::State;
use cosell_core::{PartnerId, ProductId, ValidationError, ValidationErrors};
use cosell_reco::{Channel, Moment, Outcome, Reason, Recommendation, Subject};
use cosell_store::Tenant;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::AppJson;
use crate::reco::{Ask, answer};
use crate::state::AppState;

/// When the recommendation is shown.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationMoment {
    Checkout,
    PostPurchase,
    SupportResolved,
}

impl From<RecommendationMoment> for Moment {
    fn from(m: RecommendationMoment) -> Self {
        match m {
            RecommendationMoment::Checkout => Moment::Checkout,
            RecommendationMoment::PostPurchase => Moment::PostPurchase,
            RecommendationMoment::SupportResolved => Moment::SupportResolved,
        }
    }
}

/// Where a recommendation is shown, and which channels a customer consents to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Web,
    Email,
    Phone,
}

impl From<ContactChannel> for Channel {
    fn from(c: ContactChannel) -> Self {
        match c {
            ContactChannel::Web => Channel::Web,
            ContactChannel::Email => Channel::Email,
            ContactChannel::Phone => Channel::Phone,
        }
    }
}

impl From<Channel> for ContactChannel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Web => ContactChannel::Web,
            Channel::Email => ContactChannel::Email,
            Channel::Phone => ContactChannel::Phone,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationRequest {
    /// Operators name the merchant; a partner's token recommends for that partner.
    pub merchant_id: Option<uuid::Uuid>,
    /// The merchant's reference of the customer (see `PUT /v1/customers/{reference}`);
    /// absent for an anonymous visitor, who can be addressed on `web` only.
    pub customer_ref: Option<String>,
    /// The cart lines, or the purchase just made.
    pub anchor_product_ids: Vec<uuid::Uuid>,
    pub moment: RecommendationMoment,
    pub channel: ContactChannel,
    /// 1 to 10 (default 3); at most 1 at `support_resolved`.
    #[schema(minimum = 1, maximum = 10)]
    pub limit: Option<usize>,
}

/// The partner offer an item comes through.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendedOffer {
    pub offer_id: uuid::Uuid,
    pub partner_name: String,
    #[schema(value_type = String, example = "10")]
    pub discount_percent: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendedItem {
    /// `product` or `bundle`.
    pub kind: &'static str,
    pub product_id: Option<uuid::Uuid>,
    pub bundle_id: Option<uuid::Uuid>,
    pub name: String,
    /// The partner selling it.
    pub partner_id: uuid::Uuid,
    pub offer: Option<RecommendedOffer>,
    /// What the customer pays, after any discount.
    #[schema(value_type = String, example = "19.90")]
    pub price: Decimal,
    pub currency: String,
    /// Relevance times value; only the order is meaningful.
    pub score: f64,
    /// Sentences a person can read, e.g. "accessory of Laptop 14".
    pub reasons: Vec<String>,
    /// This impression's reference. For an item shown through a partner offer it is also
    /// the partner's touchpoint: send it as the `click_id` of the conversion that follows
    /// (needed for an anonymous visitor) and the sale is attributed to that partner.
    pub tracking_ref: uuid::Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendations {
    /// Why nothing is recommended, when a guardrail applies: `open_complaint`,
    /// `at_risk`, `chronic_returner`, `unprofitable`, `no_consent`,
    /// `channel_not_preferred` or `contact_cap_reached`. Absent otherwise.
    pub suppressed: Option<&'static str>,
    pub items: Vec<RecommendedItem>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_recommendations))
}

/// Recommend complementary items for a cart or a purchase. Guardrails come first: a
/// suppressed answer is a 200 with no items and the reason code in `suppressed`. Every
/// item shown is recorded as an impression, which the 7-day contact cap counts.
#[utoipa::path(post, path = "/v1/recommendations", operation_id = "create_recommendations", tag = "recommendations",
    request_body = RecommendationRequest, security(("bearer" = [])),
    responses((status = 200, body = Recommendations), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_recommendations(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<RecommendationRequest>,
) -> Result<Json<Recommendations>, ApiError> {
    let merchant = match (caller.tenant(), body.merchant_id) {
        (Tenant::Partner(own), None) => own,
        (Tenant::Partner(own), Some(id)) if id == own.0 => own,
        (Tenant::Partner(_), Some(_)) => {
            return Err(ApiError::forbidden(
                "a partner recommends for itself; only operators choose the merchant",
            ));
        }
        (Tenant::All, Some(id)) => {
            state
                .store()
                .get_partner(Tenant::All, PartnerId(id))
                .await?
                .id
        }
        (Tenant::All, None) => {
            return Err(ValidationErrors::from(ValidationError::new(
                "merchant_id",
                "operators must name the merchant to recommend for",
            ))
            .into());
        }
    };
    let anchors: Vec<ProductId> = body.anchor_product_ids.into_iter().map(ProductId).collect();
    let answer = answer(
        &state,
        Ask {
            merchant,
            customer_ref: body.customer_ref.as_deref(),
            anchors: &anchors,
            moment: body.moment.into(),
            channel: body.channel.into(),
            limit: body.limit,
        },
    )
    .await?;
    Ok(Json(match answer.outcome {
        Outcome::Suppressed(s) => Recommendations {
            suppressed: Some(s.code()),
            items: Vec::new(),
        },
        Outcome::Items(items) => Recommendations {
            suppressed: None,
            items: items
                .into_iter()
                .zip(answer.impressions)
                .map(|(r, tracking_ref)| item(&answer.catalog, r, tracking_ref))
                .collect(),
        },
    }))
}

fn item(
    catalog: &cosell_store::reco_catalog::MerchantCatalog,
    r: Recommendation,
    tracking_ref: uuid::Uuid,
) -> RecommendedItem {
    // The recommender states the offer's terms in its reason; it is the one source.
    let offer = r.offer.and_then(|id| {
        r.reasons.iter().find_map(|reason| match reason {
            Reason::PartnerOffer {
                partner,
                discount_percent,
            } => Some(RecommendedOffer {
                offer_id: id.0,
                partner_name: partner.clone(),
                discount_percent: *discount_percent,
            }),
            _ => None,
        })
    });
    let (kind, product_id, bundle_id, name) = match r.subject {
        Subject::Product(id) => (
            "product",
            Some(id.0),
            None,
            catalog
                .catalog
                .product(id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        ),
        Subject::Bundle(id) => (
            "bundle",
            None,
            Some(id.0),
            catalog.bundle_names.get(&id).cloned().unwrap_or_default(),
        ),
    };
    RecommendedItem {
        kind,
        product_id,
        bundle_id,
        name,
        partner_id: r.partner.0,
        offer,
        price: r.price.amount,
        currency: r.price.currency.code().to_owned(),
        score: r.score,
        reasons: r.reasons.iter().map(ToString::to_string).collect(),
        tracking_ref,
    }
}
