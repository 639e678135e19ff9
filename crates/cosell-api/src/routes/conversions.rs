//! Conversions: recorded by the merchant, attributed at once; refunds; the explanation
//! of an attribution; re-attribution of a period; the merchant's default model.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_core::Currency;
use cosell_core::metrics::Period;
use cosell_plugin_abi::Capability;
use cosell_store::conversions::{
    AttributionRecord, ConversionRecord, Credit, NewConversion, NewLine, Recorded,
};
use cosell_store::refunds::{NewRefund, RefundRecord};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::attribution_terms::{ModelChoice, PluginUseDto, commission_rule, wire_name};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::middleware::idempotency::IDEMPOTENT_REPLAYED;
use crate::plugins;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    /// One of the merchant's products (its SKU and category are used).
    pub product_id: Option<uuid::Uuid>,
    /// Required without a product.
    pub sku: Option<String>,
    /// Picks a per-category commission rate.
    pub category: Option<String>,
    pub quantity: i64,
    #[schema(value_type = String, example = "19.99")]
    pub unit_price: Decimal,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionIn {
    /// Unique per merchant: the same order id and body replays, another body is a 409.
    pub order_id: String,
    pub customer_ref: String,
    /// The `cosell_click_id` the tracking link added, if the visit came through one.
    pub click_id: Option<String>,
    /// At most five minutes in the future.
    #[serde(deserialize_with = "crate::instants::instant")]
    pub occurred_at: DateTime<Utc>,
    #[schema(example = "EUR")]
    pub currency: String,
    pub lines: Vec<LineIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineDto {
    pub line: usize,
    pub product_id: Option<uuid::Uuid>,
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditDto {
    /// The commission's id in the ledger and on statements.
    pub accrual_id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    /// Share of the conversion, 12 places; the weights sum to exactly 1.
    #[schema(value_type = String)]
    pub weight: Decimal,
    /// Attributed revenue; the amounts sum to exactly the conversion amount.
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub commission: Decimal,
    /// What computed the commission: a commission plugin's name, or `partnership_terms`.
    pub commission_rule: String,
    pub commission_rule_version: String,
    /// The commission plugin the partnership names, and whether its answer was used.
    pub commission_plugin: Option<PluginUseDto>,
}

impl CreditDto {
    fn new(c: Currency, k: Credit) -> Self {
        let (commission_rule, commission_rule_version) = commission_rule(k.commission_rule);
        CreditDto {
            accrual_id: k.id,
            partner_id: k.partner_id.0,
            weight: k.weight,
            amount: major(c, k.amount_minor),
            commission: major(c, k.commission_minor),
            commission_rule,
            commission_rule_version,
            commission_plugin: k.commission_plugin.map(PluginUseDto::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionDto {
    pub id: uuid::Uuid,
    pub merchant_id: uuid::Uuid,
    pub order_id: String,
    pub customer_ref: String,
    pub click_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub currency: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub refunded: Decimal,
    pub lines: Vec<LineDto>,
    /// The model of the current attribution.
    pub model: String,
    /// Credited partners of the current attribution (empty: nobody earned credit).
    pub credits: Vec<CreditDto>,
}

fn major(c: Currency, minor: i64) -> Decimal {
    c.from_minor(minor)
}

impl From<ConversionRecord> for ConversionDto {
    fn from(r: ConversionRecord) -> Self {
        let c = r.currency;
        ConversionDto {
            id: r.id,
            merchant_id: r.merchant_id.0,
            order_id: r.order_id,
            customer_ref: r.customer_ref,
            click_id: r.click_id,
            occurred_at: r.occurred_at,
            currency: c.code().to_owned(),
            amount: major(c, r.amount_minor),
            refunded: major(c, r.refunded_minor),
            lines: r
                .lines
                .into_iter()
                .enumerate()
                .map(|(line, l)| LineDto {
                    line,
                    product_id: l.product_id,
                    sku: l.sku,
                    category: l.category,
                    quantity: l.quantity,
                    unit_price: major(c, l.unit_price_minor),
                    amount: major(c, l.amount_minor),
                })
                .collect(),
            model: r.model,
            credits: r
                .credits
                .into_iter()
                .map(|k| CreditDto::new(c, k))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineIn {
    /// The line number (`line` in the conversion).
    pub line: i32,
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// Lines and quantities to refund; absent: everything not refunded yet.
    pub lines: Option<Vec<RefundLineIn>>,
    /// When the refund happened (default: now).
    #[serde(default, deserialize_with = "crate::instants::optional_instant")]
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundDto {
    pub id: uuid::Uuid,
    pub conversion_id: uuid::Uuid,
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// Refunded so far, this refund included.
    #[schema(value_type = String)]
    pub refunded_total: Decimal,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TouchpointCreditDto {
    pub touchpoint_id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    #[schema(value_type = String)]
    pub weight: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExclusionDto {
    pub touchpoint_id: uuid::Uuid,
    pub partner_id: uuid::Uuid,
    /// bot, merchant_own_touchpoint, no_active_partnership, after_conversion,
    /// outside_window, other_customer, self_referral or impression_excluded.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerShareDto {
    pub partner_id: uuid::Uuid,
    #[schema(value_type = String)]
    pub weight: Decimal,
    /// In minor units of the conversion's currency.
    pub amount_minor: i64,
    /// The commission accrued on this share, in minor units.
    pub commission_minor: Option<i64>,
    /// What computed it: a commission plugin's name, or `partnership_terms`.
    pub commission_rule: Option<String>,
    pub commission_rule_version: Option<String>,
    /// The commission plugin the partnership names, and whether its answer was used.
    pub commission_plugin: Option<PluginUseDto>,
}

/// The other partners' part of an attribution as a credited referrer sees it: summed,
/// without their ids or touchpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct OthersDto {
    /// Other credited partners.
    pub partners: usize,
    /// Their eligible touchpoints.
    pub touchpoints: usize,
    #[schema(value_type = String)]
    pub weight: Decimal,
    /// In minor units of the conversion's currency.
    pub amount_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttributionDto {
    pub id: uuid::Uuid,
    /// The model that produced the weights: an attribution plugin's name, or a
    /// built-in model (also when it stood in for a plugin: see `plugin`).
    pub model: String,
    pub model_version: String,
    /// The attribution plugin asked, and whether its answer was used.
    pub plugin: Option<PluginUseDto>,
    /// What was split, in minor units: the sale amount (refunds reduce the commissions
    /// in proportion, not this base).
    pub base_minor: i64,
    /// The newer result that replaced this one, if any.
    pub superseded_by: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    /// Eligible touchpoints, oldest first, with their weights.
    pub touchpoints: Vec<TouchpointCreditDto>,
    /// Touchpoints that earned nothing, and why.
    pub excluded: Vec<ExclusionDto>,
    pub partners: Vec<PartnerShareDto>,
    /// Only in a credited referrer's view, whose touchpoints, exclusions and partners
    /// are its own: everyone else's share, summed. `null` in the merchant's full view.
    pub others: Option<OthersDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttributionHistory {
    /// Newest first; the first is current.
    pub items: Vec<AttributionDto>,
}

impl From<AttributionRecord> for AttributionDto {
    fn from(r: AttributionRecord) -> Self {
        let a = r.attribution;
        let mut credits: std::collections::BTreeMap<_, _> =
            r.credits.into_iter().map(|k| (k.partner_id, k)).collect();
        AttributionDto {
            id: r.id,
            model: a.model.name,
            model_version: a.model.version,
            plugin: r.plugin.map(PluginUseDto::from),
            base_minor: r.base_minor,
            superseded_by: r.superseded_by,
            created_at: r.created_at,
            touchpoints: a
                .touchpoints
                .into_iter()
                .map(|t| TouchpointCreditDto {
                    touchpoint_id: t.touchpoint_id,
                    partner_id: t.partner_id.0,
                    weight: t.weight,
                })
                .collect(),
            excluded: a
                .excluded
                .into_iter()
                .map(|e| ExclusionDto {
                    touchpoint_id: e.touchpoint_id,
                    partner_id: e.partner_id.0,
                    reason: wire_name(e.reason),
                })
                .collect(),
            partners: a
                .partners
                .into_iter()
                .map(|p| {
                    let credit = credits.remove(&p.partner_id);
                    let rule = credit
                        .as_ref()
                        .map(|k| commission_rule(k.commission_rule.clone()));
                    PartnerShareDto {
                        partner_id: p.partner_id.0,
                        weight: p.weight,
                        amount_minor: p.amount_minor,
                        commission_minor: credit.as_ref().map(|k| k.commission_minor),
                        commission_rule: rule.as_ref().map(|r| r.0.clone()),
                        commission_rule_version: rule.map(|r| r.1),
                        commission_plugin: credit
                            .and_then(|k| k.commission_plugin)
                            .map(PluginUseDto::from),
                    }
                })
                .collect(),
            others: r.others.map(|o| OthersDto {
                partners: o.partners,
                touchpoints: o.touchpoints,
                weight: o.weight,
                amount_minor: o.amount_minor,
            }),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReattributeIn {
    /// Conversions that occurred from this instant (inclusive)…
    #[serde(deserialize_with = "crate::instants::instant")]
    pub from: DateTime<Utc>,
    /// …to this one (exclusive).
    #[serde(deserialize_with = "crate::instants::instant")]
    pub to: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReattributeDto {
    pub reattributed: usize,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_conversion))
        .routes(routes!(get_conversion))
        .routes(routes!(refund_conversion))
        .routes(routes!(explain_attribution))
        .routes(routes!(reattribute_conversions))
        .routes(routes!(set_default_model))
}

fn new_conversion(body: ConversionIn) -> NewConversion {
    NewConversion {
        order_id: body.order_id,
        customer_ref: body.customer_ref,
        click_id: body.click_id,
        occurred_at: body.occurred_at,
        currency: body.currency,
        lines: body
            .lines
            .into_iter()
            .map(|l| NewLine {
                product_id: l.product_id,
                sku: l.sku,
                category: l.category,
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
            .collect(),
    }
}

/// Record a conversion (the merchant) and attribute it. The same order id with the same
/// body answers the first response again (with `Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/v1/conversions", operation_id = "record_conversion", tag = "conversions",
    request_body = ConversionIn, security(("bearer" = [])),
    responses((status = 201, body = ConversionDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn record_conversion(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ConversionIn>,
) -> Result<Response, ApiError> {
    let merchant = caller.partner()?;
    // A partner offer shown moments ago is a touchpoint this sale may owe credit to.
    state.impressions().written().await;
    let outcome = state
        .store()
        .record_conversions(merchant, &[new_conversion(body)], Utc::now())
        .await?;
    let (id, replayed) = match outcome.first() {
        Some(Recorded::Created(id)) => (*id, false),
        Some(Recorded::Replayed(id)) => (*id, true),
        Some(Recorded::Conflict(id)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "order_conflict",
                format!("this order id was recorded with a different body as conversion {id}"),
            ));
        }
        None => return Err(ApiError::internal()),
    };
    let record = state.store().get_conversion(caller.tenant(), id).await?;
    let mut response = (StatusCode::CREATED, Json(ConversionDto::from(record))).into_response();
    if replayed {
        response.headers_mut().insert(
            IDEMPOTENT_REPLAYED.clone(),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// One of the merchant's conversions with its current attribution.
#[utoipa::path(get, path = "/v1/conversions/{id}", operation_id = "get_conversion", tag = "conversions",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ConversionDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_conversion(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
) -> Result<Json<ConversionDto>, ApiError> {
    Ok(Json(
        state
            .store()
            .get_conversion(caller.tenant(), id)
            .await?
            .into(),
    ))
}

/// Refund a conversion, whole or per line: commissions still held are reversed in
/// proportion, commissions already paid are clawed back on the next statement.
#[utoipa::path(post, path = "/v1/conversions/{id}/refunds", operation_id = "refund_conversion", tag = "conversions",
    params(("id" = uuid::Uuid, Path)), request_body = RefundIn, security(("bearer" = [])),
    responses((status = 201, body = RefundDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn refund_conversion(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
    AppJson(body): AppJson<RefundIn>,
) -> Result<(StatusCode, Json<RefundDto>), ApiError> {
    caller.partner()?;
    let now = Utc::now();
    let new = NewRefund {
        lines: body
            .lines
            .map(|ls| ls.into_iter().map(|l| (l.line, l.quantity)).collect()),
        occurred_at: body.occurred_at.unwrap_or(now),
    };
    let record: RefundRecord = state
        .store()
        .refund_conversion(caller.tenant(), id, new, now)
        .await?;
    let conversion = state.store().get_conversion(caller.tenant(), id).await?;
    let c = conversion.currency;
    Ok((
        StatusCode::CREATED,
        Json(RefundDto {
            id: record.id,
            conversion_id: id,
            amount: major(c, record.amount_minor),
            refunded_total: major(c, record.refunded_total_minor),
            occurred_at: record.occurred_at,
        }),
    ))
}

/// How a conversion was attributed: the model, each eligible touchpoint's weight, the
/// partners' shares and why other touchpoints earned nothing. Superseded results
/// follow the current one. The merchant sees everything; a partner any result credited
/// sees its own touchpoints, exclusions and share, and the rest summed in `others`;
/// anyone else gets 404, as for an unknown id.
#[utoipa::path(get, path = "/v1/conversions/{id}/attribution", operation_id = "explain_attribution", tag = "conversions",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = AttributionHistory), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn explain_attribution(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
) -> Result<Json<AttributionHistory>, ApiError> {
    let all = state
        .store()
        .conversion_attributions(caller.tenant(), id)
        .await?;
    Ok(Json(AttributionHistory {
        items: all.into_iter().map(AttributionDto::from).collect(),
    }))
}

/// Re-attribute the merchant's conversions of a period with the current models and
/// terms. Old results are kept, marked superseded.
#[utoipa::path(post, path = "/v1/conversions/reattribute", operation_id = "reattribute_conversions", tag = "conversions",
    request_body = ReattributeIn, security(("bearer" = [])),
    responses((status = 200, body = ReattributeDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn reattribute_conversions(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ReattributeIn>,
) -> Result<Json<ReattributeDto>, ApiError> {
    let merchant = caller.partner()?;
    if body.from >= body.to {
        return Err(
            cosell_core::ValidationErrors::from(cosell_core::ValidationError::new(
                "to",
                "must be after from",
            ))
            .into(),
        );
    }
    let period = Period {
        start: body.from,
        end: body.to,
    };
    let reattributed = state
        .store()
        .reattribute(merchant, period, Utc::now())
        .await?;
    Ok(Json(ReattributeDto { reattributed }))
}

/// Set the caller's default attribution model (or plugin, with a built-in fallback) as
/// a merchant, used where a partnership names none. A plugin must be installed, enabled
/// and granted `attribution`.
#[utoipa::path(put, path = "/v1/attribution/default-model", operation_id = "set_default_model", tag = "conversions",
    request_body = ModelChoice, security(("bearer" = [])),
    responses((status = 200, body = ModelChoice), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn set_default_model(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ModelChoice>,
) -> Result<Json<ModelChoice>, ApiError> {
    let merchant = caller.partner()?;
    // The choice is the whole body: errors name its own fields.
    let model = body.parse("")?;
    let plugin = body.plugin("")?;
    if let Some(plugin) = &plugin {
        plugins::require(
            state.store(),
            state.plugins(),
            plugin,
            Capability::Attribution,
        )
        .await?;
    }
    state
        .store()
        .set_default_model(merchant, model, plugin.clone())
        .await?;
    Ok(Json(ModelChoice::from(model).with_plugin(plugin.as_ref())))
}
