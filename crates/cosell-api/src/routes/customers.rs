//! Customer profiles: what a merchant tells Cosell about a customer so recommendations
//! respect satisfaction, consent, profitability and suitability.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header::IF_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_core::customer::check_customer_ref;
use cosell_core::{Currency, PartnerId, ProductId, ValidationErrors};
use cosell_reco::{CustomerRelationship, Satisfaction};
use cosell_store::customers::{Customer, CustomerFields};
use rust_decimal::Decimal;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::recommendations::ContactChannel;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, Tagged, expected_version};
use crate::state::AppState;

/// How the customer feels about the merchant right now.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SatisfactionState {
    Ok,
    OpenComplaint,
    AtRisk,
}

impl From<SatisfactionState> for Satisfaction {
    fn from(s: SatisfactionState) -> Self {
        match s {
            SatisfactionState::Ok => Satisfaction::Ok,
            SatisfactionState::OpenComplaint => Satisfaction::OpenComplaint,
            SatisfactionState::AtRisk => Satisfaction::AtRisk,
        }
    }
}

impl From<Satisfaction> for SatisfactionState {
    fn from(s: Satisfaction) -> Self {
        match s {
            Satisfaction::Ok => SatisfactionState::Ok,
            Satisfaction::OpenComplaint => SatisfactionState::OpenComplaint,
            Satisfaction::AtRisk => SatisfactionState::AtRisk,
        }
    }
}

/// A relationship the customer has with a partner, e.g. `{partner, "auditor"}`: offers
/// that exclude that kind are never shown to the customer from that partner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRelationshipDto {
    pub partner_id: uuid::Uuid,
    pub kind: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCustomer {
    pub satisfaction: SatisfactionState,
    /// Channels the customer agreed to receive offers on.
    #[serde(default)]
    pub consents: Vec<ContactChannel>,
    pub preferred_channel: Option<ContactChannel>,
    /// Share of purchases returned, 0 to 1. Omit it to let Cosell compute it from the
    /// customer's conversions and refunds of the last 365 days (refunded / sold).
    #[schema(value_type = Option<String>, example = "0.05")]
    pub return_rate: Option<Decimal>,
    /// Currency of `service_cost` and `revenue` (and of the conversions Cosell computes
    /// them from).
    pub currency: String,
    /// What serving the account costs. Omit it to let Cosell compute it: the partner
    /// commission on the customer's conversions of the last 365 days, net of refunds.
    #[schema(value_type = Option<String>, example = "12.50")]
    pub service_cost: Option<Decimal>,
    /// What the account brings in, same period. Omit it to let Cosell compute it: the
    /// customer's conversions of the last 365 days less their refunds.
    #[schema(value_type = Option<String>, example = "480.00")]
    pub revenue: Option<Decimal>,
    /// Eligibility attributes: strings, booleans or numbers, e.g. `{"region": "EU", "verified": true}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub relationships: Vec<CustomerRelationshipDto>,
    /// Products the customer already owns; they are never recommended.
    #[serde(default)]
    pub purchased_product_ids: Vec<uuid::Uuid>,
    /// Read-only, like the three fields below: accepted so that a profile read with `GET`
    /// can be sent back changed. It must be the path's reference; the others are ignored.
    #[schema(read_only)]
    pub reference: Option<String>,
    #[schema(read_only, value_type = Option<i32>)]
    pub version: Option<IgnoredAny>,
    #[schema(read_only, value_type = Option<DateTime<Utc>>)]
    pub created_at: Option<IgnoredAny>,
    #[schema(read_only, value_type = Option<DateTime<Utc>>)]
    pub updated_at: Option<IgnoredAny>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    pub reference: String,
    pub satisfaction: SatisfactionState,
    pub consents: Vec<ContactChannel>,
    pub preferred_channel: Option<ContactChannel>,
    /// As declared; null when Cosell computes it at each recommendation.
    #[schema(value_type = Option<String>)]
    pub return_rate: Option<Decimal>,
    pub currency: String,
    /// As declared; null when Cosell computes it at each recommendation.
    #[schema(value_type = Option<String>)]
    pub service_cost: Option<Decimal>,
    /// As declared; null when Cosell computes it at each recommendation.
    #[schema(value_type = Option<String>)]
    pub revenue: Option<Decimal>,
    pub attributes: BTreeMap<String, String>,
    pub relationships: Vec<CustomerRelationshipDto>,
    pub purchased_product_ids: Vec<uuid::Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerDto {
    fn from(c: Customer) -> Self {
        let f = c.fields;
        CustomerDto {
            reference: c.reference,
            satisfaction: f.satisfaction.into(),
            consents: f.consents.into_iter().map(Into::into).collect(),
            preferred_channel: f.preferred_channel.map(Into::into),
            return_rate: f.return_rate,
            currency: f.currency.code().to_owned(),
            service_cost: f.service_cost,
            revenue: f.revenue,
            attributes: f.attributes,
            relationships: f
                .relationships
                .into_iter()
                .map(|r| CustomerRelationshipDto {
                    partner_id: r.partner.0,
                    kind: r.kind,
                })
                .collect(),
            purchased_product_ids: f.purchased.into_iter().map(|p| p.0).collect(),
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl PutCustomer {
    /// The stored fields; attributes must be scalars, the reference as `check_customer_ref`
    /// wants it.
    fn fields(self, reference: &str) -> Result<CustomerFields, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        errors.take(check_customer_ref("reference", reference));
        if self.reference.as_deref().is_some_and(|r| r != reference) {
            errors.push("reference", "is the path's and cannot be changed");
        }
        let currency = errors.take(Currency::parse(&self.currency));
        let mut attributes = BTreeMap::new();
        for (name, value) in self.attributes {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => {
                    errors.push(
                        format!("attributes.{name}"),
                        "must be a string, a boolean or a number",
                    );
                    continue;
                }
            };
            attributes.insert(name, text);
        }
        let currency = match currency {
            Some(c) if errors.0.is_empty() => c,
            _ => return Err(errors),
        };
        Ok(CustomerFields {
            satisfaction: self.satisfaction.into(),
            consents: self.consents.into_iter().map(Into::into).collect(),
            preferred_channel: self.preferred_channel.map(Into::into),
            return_rate: self.return_rate,
            currency,
            service_cost: self.service_cost,
            revenue: self.revenue,
            attributes,
            relationships: self
                .relationships
                .into_iter()
                .map(|r| CustomerRelationship {
                    partner: PartnerId(r.partner_id),
                    kind: r.kind,
                })
                .collect(),
            purchased: self
                .purchased_product_ids
                .into_iter()
                .map(ProductId)
                .collect(),
        })
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(put_customer, get_customer))
}

/// Create or replace the calling merchant's profile of a customer: 201 when new, 200
/// when replaced. Another merchant's customer of the same reference is a different one.
/// `If-Match` is optional: without it the profile is created or replaced whatever its
/// version (scripts that sync profiles rely on that); with it, only the version it names
/// is replaced (412 `stale_version` otherwise, 404 when there is no profile yet). A profile
/// sent exactly as stored keeps its version and ETag.
#[utoipa::path(put, path = "/v1/customers/{reference}", operation_id = "put_customer", tag = "customers",
    request_body = PutCustomer, params(("reference" = String, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = 201, body = CustomerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn put_customer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppPath(reference): AppPath<String>,
    AppJson(body): AppJson<PutCustomer>,
) -> Result<Response, ApiError> {
    let merchant = caller.partner()?;
    let expected = if headers.contains_key(IF_MATCH) {
        Some(expected_version(&headers)?)
    } else {
        None
    };
    let fields = body.fields(&reference)?;
    let (customer, created) = state
        .store()
        .put_customer(merchant, &reference, fields, expected)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Tagged(customer.version, CustomerDto::from(customer)),
    )
        .into_response())
}

/// The calling merchant's profile of a customer.
#[utoipa::path(get, path = "/v1/customers/{reference}", operation_id = "get_customer", tag = "customers",
    params(("reference" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(reference): AppPath<String>,
) -> Result<Tagged<CustomerDto>, ApiError> {
    check_customer_ref("reference", &reference).map_err(ValidationErrors::from)?;
    let customer = state
        .store()
        .get_customer(caller.partner()?, &reference)
        .await?;
    Ok(Tagged(customer.version, customer.into()))
}
