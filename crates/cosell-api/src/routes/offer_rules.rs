//! An offer's suitability rules: the customer attributes it requires and the customer
//! relationships that rule it out. Recommendations never show an offer that breaks them.

use axum::Json;
use axum::extract::State;
use cosell_core::OfferId;
use cosell_store::offer_rules::OfferRules;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferRulesDto {
    /// Conditions the customer must all meet: `attribute in [a, b]` or
    /// `attribute = value`. A customer without the attribute (or without a profile) fails.
    #[serde(default)]
    #[schema(example = json!(["region in [EU, UK]", "verified = true"]))]
    pub eligibility: Vec<String>,
    /// Relationship kinds (e.g. `auditor`): a customer with such a relationship to the
    /// offering partner never sees the offer.
    #[serde(default)]
    pub excluded_relationships: Vec<String>,
}

impl From<OfferRules> for OfferRulesDto {
    fn from(r: OfferRules) -> Self {
        OfferRulesDto {
            eligibility: r.eligibility,
            excluded_relationships: r.excluded_relationships,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(put_offer_rules, get_offer_rules))
}

/// Replace the suitability rules of one of the caller's offers (409 `offer_archived` once it
/// is archived: archiving is final).
#[utoipa::path(put, path = "/v1/offers/{id}/rules", operation_id = "put_offer_rules", tag = "offers",
    request_body = OfferRulesDto, params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OfferRulesDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn put_offer_rules(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
    AppJson(body): AppJson<OfferRulesDto>,
) -> Result<Json<OfferRulesDto>, ApiError> {
    caller.partner()?;
    let rules = OfferRules {
        eligibility: body.eligibility,
        excluded_relationships: body.excluded_relationships,
    };
    let stored = state
        .store()
        .set_offer_rules(caller.tenant(), id, rules)
        .await?;
    Ok(Json(stored.into()))
}

/// The suitability rules of one of the caller's offers (empty lists when none were set).
#[utoipa::path(get, path = "/v1/offers/{id}/rules", operation_id = "get_offer_rules", tag = "offers",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OfferRulesDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_offer_rules(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<OfferId>,
) -> Result<Json<OfferRulesDto>, ApiError> {
    let rules = state.store().offer_rules(caller.tenant(), id).await?;
    Ok(Json(rules.into()))
}
