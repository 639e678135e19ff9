//! Partnerships: invite a partner with commission terms; it accepts or declines; either ends it.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use cosell_core::catalog::partnership::PartnershipAction;
use cosell_core::catalog::{
    CommissionTerms, ExtraTerms, Partnership, PartnershipStatus, TierPercent,
};
use cosell_core::plugin::PluginRef;
use cosell_core::{Currency, PartnerId, PartnershipId};
use cosell_plugin_abi::Capability;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use super::attribution_terms::{ImpressionChoice, ModelChoice};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery, Tagged, created};
use crate::plugins;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitePartner {
    /// The partner invited to sell to the inviter's customers.
    pub invitee_id: uuid::Uuid,
    /// Percentage of attributed revenue paid to the invitee.
    #[schema(value_type = Option<String>, example = "10")]
    pub commission_percent: Option<Decimal>,
    /// Flat amount per attributed conversion.
    #[schema(value_type = Option<String>, example = "2.50")]
    pub commission_flat: Option<Decimal>,
    pub currency: String,
    /// Days before a conversion in which a touchpoint counts (1-365, default 30).
    pub attribution_window_days: Option<i32>,
    /// Days a commission is held for refunds before it is payable (0-365, default 30).
    pub hold_days: Option<i32>,
    /// Percentage per product category; beats tiers and the base percentage.
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"books": "5"}))]
    pub category_rates: std::collections::BTreeMap<String, Decimal>,
    /// Percentages by the partner's attributed revenue in the settlement period
    /// (ascending `from`); beat the base percentage.
    #[serde(default)]
    pub tiers: Vec<TierIn>,
    /// Most commission per conversion, in the partnership's currency.
    #[schema(value_type = Option<String>, example = "20.00")]
    pub cap_per_conversion: Option<Decimal>,
    /// The attribution model (or plugin); default: the merchant's default, else
    /// last_touch.
    pub attribution_model: Option<ModelChoice>,
    /// How impressions count; default: like clicks.
    pub impression_policy: Option<ImpressionChoice>,
    /// An installed, enabled commission plugin (its SHA-256) that computes the
    /// commission; the terms above apply whenever it cannot answer.
    pub commission_plugin_id: Option<String>,
}

/// A tier: `percent` applies once the period's attributed revenue reaches `from`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierIn {
    #[schema(value_type = String)]
    pub from: Decimal,
    #[schema(value_type = String)]
    pub percent: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnershipDto {
    pub id: uuid::Uuid,
    pub inviter_id: uuid::Uuid,
    pub invitee_id: uuid::Uuid,
    /// invited, active, declined or ended.
    pub status: String,
    #[schema(value_type = Option<String>)]
    pub commission_percent: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub commission_flat: Option<Decimal>,
    pub currency: String,
    pub attribution_window_days: i32,
    pub hold_days: i32,
    #[schema(value_type = Object)]
    pub category_rates: std::collections::BTreeMap<String, Decimal>,
    pub tiers: Vec<TierIn>,
    #[schema(value_type = Option<String>)]
    pub cap_per_conversion: Option<Decimal>,
    pub attribution_model: Option<ModelChoice>,
    pub impression_policy: Option<ImpressionChoice>,
    /// The commission plugin, whose fallback is the terms above.
    pub commission_plugin_id: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Partnership> for PartnershipDto {
    fn from(p: Partnership) -> Self {
        PartnershipDto {
            id: p.id.0,
            inviter_id: p.inviter_id.0,
            invitee_id: p.invitee_id.0,
            status: p.status.as_str().to_owned(),
            commission_percent: p.terms.percent,
            commission_flat: p.terms.flat,
            currency: p.terms.currency.code().to_owned(),
            attribution_window_days: p.terms.attribution_window_days,
            hold_days: p.terms.hold_days,
            category_rates: p.terms.extra.category_percent.clone(),
            tiers: p
                .terms
                .extra
                .tiers
                .iter()
                .map(|t| TierIn {
                    from: t.from,
                    percent: t.percent,
                })
                .collect(),
            cap_per_conversion: p.terms.extra.cap,
            attribution_model: p
                .terms
                .extra
                .model
                .map(|m| ModelChoice::from(m).with_plugin(p.terms.extra.model_plugin.as_ref())),
            impression_policy: p.terms.extra.impressions.map(ImpressionChoice::from),
            commission_plugin_id: p
                .terms
                .extra
                .commission_plugin
                .as_ref()
                .map(ToString::to_string),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartnershipQuery {
    /// invited, active, declined or ended.
    pub status: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite_partner, list_partnerships))
        .routes(routes!(get_partnership))
        .routes(routes!(accept_partnership))
        .routes(routes!(decline_partnership))
        .routes(routes!(end_partnership))
}

/// Invite a partner to co-sell, with commission terms. A plugin named as the
/// attribution model or commission rule must be installed, enabled and granted that
/// capability (`422 unknown_plugin`, `plugin_unavailable`, `plugin_capability_missing`).
#[utoipa::path(post, path = "/v1/partnerships", operation_id = "invite_partner", tag = "partnerships",
    request_body = InvitePartner, security(("bearer" = [])),
    responses((status = 201, body = PartnershipDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn invite_partner(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<InvitePartner>,
) -> Result<Response, ApiError> {
    let inviter = caller.partner()?;
    // Every part of the terms is checked before any refusal, so that one answer lists
    // every bad field (docs/errors.md), not those of the first part that failed.
    let mut errors = cosell_core::ValidationErrors::default();
    let terms = CommissionTerms::parse(
        body.commission_percent,
        body.commission_flat,
        &body.currency,
        body.attribution_window_days.unwrap_or(30),
        body.hold_days.unwrap_or(30),
    )
    .map_err(|e| errors.0.extend(e.0))
    .ok();
    let model_plugin = body.attribution_model.as_ref().and_then(|m| {
        m.plugin("attribution_model")
            .map_err(|e| errors.0.extend(e.0))
            .ok()
            .flatten()
    });
    let commission_plugin = body
        .commission_plugin_id
        .as_deref()
        .and_then(|id| errors.take(PluginRef::parse("commission_plugin_id", id)));
    let extra = ExtraTerms {
        category_percent: body.category_rates,
        tiers: body
            .tiers
            .into_iter()
            .map(|t| TierPercent {
                from: t.from,
                percent: t.percent,
            })
            .collect(),
        cap: body.cap_per_conversion,
        model: body.attribution_model.and_then(|m| {
            m.parse("attribution_model")
                .map_err(|e| errors.0.extend(e.0))
                .ok()
        }),
        impressions: body
            .impression_policy
            .and_then(|p| p.parse().map_err(|e| errors.0.extend(e.0)).ok()),
        model_plugin,
        commission_plugin,
    };
    // The extra terms' amounts are in the partnership's currency: checked when it is one.
    if let Ok(currency) = Currency::parse(&body.currency)
        && let Err(e) = extra.check(currency)
    {
        errors.0.extend(e.0);
    }
    let (Some(terms), true) = (terms, errors.0.is_empty()) else {
        return Err(errors.into());
    };
    let terms = terms.with_extra(extra)?;
    require_plugins(&state, &terms.extra).await?;
    let partnership = state
        .store()
        .invite_partner(inviter, PartnerId(body.invitee_id), terms)
        .await?;
    Ok(created(
        partnership.version,
        PartnershipDto::from(partnership),
    ))
}

/// The plugins `extra` names must be usable for their capability right now.
async fn require_plugins(state: &AppState, extra: &ExtraTerms) -> Result<(), ApiError> {
    let named = [
        (&extra.model_plugin, Capability::Attribution),
        (&extra.commission_plugin, Capability::Commission),
    ];
    for (plugin, capability) in named {
        if let Some(plugin) = plugin {
            plugins::require(state.store(), state.plugins(), plugin, capability).await?;
        }
    }
    Ok(())
}

/// Partnerships the caller is part of (operators: all).
#[utoipa::path(get, path = "/v1/partnerships", operation_id = "list_partnerships", tag = "partnerships",
    params(PartnershipQuery), security(("bearer" = [])),
    responses((status = 200, body = Listed<PartnershipDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_partnerships(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<PartnershipQuery>,
) -> Result<Json<Listed<PartnershipDto>>, ApiError> {
    let status = q
        .status
        .map(|s| {
            PartnershipStatus::parse(&s)
                .ok_or_else(|| ApiError::bad_request(format!("unknown status '{s}'")))
        })
        .transpose()?;
    let found = state
        .store()
        .list_partnerships(caller.tenant(), status)
        .await?;
    Ok(Json(Listed {
        items: found.into_iter().map(PartnershipDto::from).collect(),
    }))
}

/// One partnership the caller is part of.
#[utoipa::path(get, path = "/v1/partnerships/{id}", operation_id = "get_partnership", tag = "partnerships",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnershipDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_partnership(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnershipId>,
) -> Result<Tagged<PartnershipDto>, ApiError> {
    let p = state.store().get_partnership(caller.tenant(), id).await?;
    Ok(Tagged(p.version, p.into()))
}

async fn act(
    state: &AppState,
    caller: Caller,
    id: PartnershipId,
    action: PartnershipAction,
) -> Result<Tagged<PartnershipDto>, ApiError> {
    let p = state
        .store()
        .act_on_partnership(caller.partner()?, id, action)
        .await?;
    Ok(Tagged(p.version, p.into()))
}

/// Accept an invitation (the invitee).
#[utoipa::path(post, path = "/v1/partnerships/{id}/accept", operation_id = "accept_partnership", tag = "partnerships",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnershipDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn accept_partnership(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnershipId>,
) -> Result<Tagged<PartnershipDto>, ApiError> {
    act(&state, caller, id, PartnershipAction::Accept).await
}

/// Decline an invitation (the invitee).
#[utoipa::path(post, path = "/v1/partnerships/{id}/decline", operation_id = "decline_partnership", tag = "partnerships",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnershipDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn decline_partnership(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnershipId>,
) -> Result<Tagged<PartnershipDto>, ApiError> {
    act(&state, caller, id, PartnershipAction::Decline).await
}

/// End a partnership (either party). The invitee's offers on the inviter's products are
/// archived with it (archiving is final), so none of them outlives the partnership that
/// allowed it or keeps the inviter from deleting its products.
#[utoipa::path(post, path = "/v1/partnerships/{id}/end", operation_id = "end_partnership", tag = "partnerships",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PartnershipDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn end_partnership(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<PartnershipId>,
) -> Result<Tagged<PartnershipDto>, ApiError> {
    act(&state, caller, id, PartnershipAction::End).await
}
