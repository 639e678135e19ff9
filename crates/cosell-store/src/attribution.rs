//! Attribution as the store runs it: load the merchants' partnership terms and the
//! candidate touchpoints in bulk, then hand each sale to `cosell_core` (eligibility,
//! model, allocation, commission, accrual) and turn the results into rows.
//!
//! The model of a conversion: the model its credited partnerships name when they all
//! name the same one, else the merchant's default, else `last_touch`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use cosell_core::attribution::{
    Attribution, BuiltinModel, Conversion, ImpressionPolicy, PartnerTerms, Touchpoint,
    TouchpointKind, attribute, eligibility,
};
use cosell_core::catalog::PartnershipStatus;
use cosell_core::commission::{self, CommissionBase, SaleLine, split_over_lines};
use cosell_core::ledger::{Accrual, JournalEntry, accrue};
use cosell_core::{Currency, PartnerId};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, ExprTrait, FromQueryResult, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entities::{attribution_credit, attribution_result, partner, partnership, touchpoint};
use crate::journal::IN_CHUNK;

const TABLE: &str = "attribution_results";

/// Oldest touchpoint any partnership can credit: the longest window is 365 days.
const LONGEST_WINDOW: TimeDelta = TimeDelta::days(366);

/// One partnership as attribution and commission need it.
#[derive(Debug, Clone)]
struct PairTerms {
    attribution: PartnerTerms,
    commission: commission::CommissionTerms,
    model: Option<BuiltinModel>,
}

/// The active partnerships of a set of merchants (merchant = inviter, who pays the
/// invitee) and the merchants' default models.
#[derive(Debug, Default)]
pub(crate) struct Terms {
    pairs: BTreeMap<PartnerId, BTreeMap<PartnerId, PairTerms>>,
    defaults: BTreeMap<PartnerId, BuiltinModel>,
}

/// A partner's own customer references: its id and its slug. Orders and referrals
/// under them are self-referrals.
fn own_refs(p: &partner::Model) -> BTreeSet<String> {
    [p.id.to_string(), p.slug.clone()].into()
}

pub(crate) fn parse_model(table: &'static str, json: &str) -> Result<BuiltinModel, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::corrupt(table, e))
}

impl Terms {
    /// Loads the terms of every active partnership `merchants` pay under.
    pub(crate) async fn load<C: ConnectionTrait>(
        db: &C,
        merchants: &BTreeSet<PartnerId>,
    ) -> Result<Terms, StoreError> {
        let rows = partnership::Entity::find()
            .filter(
                partnership::COLUMN
                    .inviter_id
                    .is_in(merchants.iter().map(|m| m.0)),
            )
            .filter(
                partnership::COLUMN
                    .status
                    .eq(PartnershipStatus::Active.as_str()),
            )
            .all(db)
            .await?;
        let mut people: BTreeSet<Uuid> = merchants.iter().map(|m| m.0).collect();
        people.extend(rows.iter().map(|r| r.invitee_id));
        let partners: BTreeMap<Uuid, partner::Model> = partner::Entity::find()
            .filter(partner::COLUMN.id.is_in(people))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut terms = Terms::default();
        for (id, p) in &partners {
            if let Some(json) = &p.default_attribution_model {
                terms
                    .defaults
                    .insert(PartnerId(*id), parse_model("partners", json)?);
            }
        }
        for row in rows {
            let p = crate::partnerships::to_domain(row)?;
            let own = partners
                .get(&p.invitee_id.0)
                .map(own_refs)
                .unwrap_or_default();
            let window = u32::try_from(p.terms.attribution_window_days).unwrap_or(1);
            let impressions = p.terms.extra.impressions.unwrap_or(ImpressionPolicy::Count);
            let attribution = PartnerTerms::new(true, window, impressions, own)
                .map_err(|e| StoreError::Invalid(e.into()))?;
            terms.pairs.entry(p.inviter_id).or_default().insert(
                p.invitee_id,
                PairTerms {
                    commission: (&p.terms).into(),
                    model: p.terms.extra.model,
                    attribution,
                },
            );
        }
        Ok(terms)
    }

    /// Pairs (partner, merchant) whose terms have tiers: only they need period revenue.
    fn tiered(&self) -> impl Iterator<Item = (PartnerId, PartnerId)> + '_ {
        self.pairs.iter().flat_map(|(merchant, by_partner)| {
            by_partner
                .iter()
                .filter(|(_, t)| !t.commission.tiers.is_empty())
                .map(|(partner, _)| (*partner, *merchant))
        })
    }
}

/// A conversion with its sale lines, ready to attribute.
#[derive(Debug, Clone)]
pub(crate) struct Sale {
    pub conversion: Conversion,
    pub lines: Vec<SaleLine>,
}

/// The settlement period of a conversion, for tiers: its calendar month (UTC).
pub(crate) fn period_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// Running attributed revenue per (partner, merchant, period, currency), for tiers.
pub(crate) type PeriodRevenue = BTreeMap<(PartnerId, PartnerId, String, Currency), i64>;

#[derive(FromQueryResult)]
struct RevenueRow {
    partner_id: Uuid,
    merchant_id: Uuid,
    period: String,
    currency: String,
    total: i64,
}

/// The attributed revenue so far of the tiered pairs among `sales`' merchants, from
/// current (not superseded) results.
pub(crate) async fn period_revenue<C: ConnectionTrait>(
    db: &C,
    terms: &Terms,
    sales: &[Sale],
) -> Result<PeriodRevenue, StoreError> {
    let mut out = PeriodRevenue::new();
    let tiered: Vec<(PartnerId, PartnerId)> = terms.tiered().collect();
    if tiered.is_empty() {
        return Ok(out);
    }
    let periods: BTreeSet<String> = sales
        .iter()
        .map(|s| period_of(s.conversion.occurred_at))
        .collect();
    for (partner, merchant) in tiered {
        let rows = attribution_credit::Entity::find()
            .select_only()
            .column(attribution_credit::Column::PartnerId)
            .column(attribution_credit::Column::MerchantId)
            .column(attribution_credit::Column::Period)
            .column(attribution_credit::Column::Currency)
            // PostgreSQL sums BIGINT as NUMERIC, which does not decode as i64.
            .column_as(
                Expr::col(attribution_credit::Column::AmountMinor)
                    .sum()
                    .cast_as("BIGINT"),
                "total",
            )
            .filter(current_credit())
            .filter(attribution_credit::COLUMN.partner_id.eq(partner.0))
            .filter(attribution_credit::COLUMN.merchant_id.eq(merchant.0))
            .filter(
                attribution_credit::COLUMN
                    .period
                    .is_in(periods.iter().cloned()),
            )
            .group_by(attribution_credit::Column::PartnerId)
            .group_by(attribution_credit::Column::MerchantId)
            .group_by(attribution_credit::Column::Period)
            .group_by(attribution_credit::Column::Currency)
            .into_model::<RevenueRow>()
            .all(db)
            .await?;
        for r in rows {
            let currency = crate::money::currency(TABLE, &r.currency)?;
            out.insert(
                (
                    r.partner_id.into(),
                    r.merchant_id.into(),
                    r.period,
                    currency,
                ),
                r.total,
            );
        }
    }
    Ok(out)
}

/// Credits of results that no newer result superseded.
pub(crate) fn current_credit() -> SimpleExpr {
    Expr::col(attribution_credit::Column::AttributionId).in_subquery(
        Query::select()
            .column(attribution_result::Column::Id)
            .from(attribution_result::Entity)
            .and_where(Expr::col(attribution_result::Column::SupersededBy).is_null())
            .to_owned(),
    )
}

pub(crate) fn kind_str(kind: TouchpointKind) -> &'static str {
    match kind {
        TouchpointKind::Impression => "impression",
        TouchpointKind::Click => "click",
        TouchpointKind::Referral => "referral",
    }
}

pub(crate) fn parse_kind(s: &str) -> Option<TouchpointKind> {
    use TouchpointKind::*;
    [Impression, Click, Referral]
        .into_iter()
        .find(|k| kind_str(*k) == s)
}

fn to_touchpoint(m: touchpoint::Model) -> Result<Touchpoint, StoreError> {
    Ok(Touchpoint {
        id: m.id,
        partner_id: m.partner_id.into(),
        kind: parse_kind(&m.kind).ok_or_else(|| StoreError::corrupt("touchpoints", &m.kind))?,
        occurred_at: m.occurred_at,
        customer_ref: m.customer_ref,
        click_id: m.click_id,
        bot: m.bot,
    })
}

/// The touchpoints of each sale's customer reference or click id, in bulk.
pub(crate) async fn candidates<C: ConnectionTrait>(
    db: &C,
    sales: &[Sale],
) -> Result<Vec<Vec<Touchpoint>>, StoreError> {
    let Some(oldest) = sales.iter().map(|s| s.conversion.occurred_at).min() else {
        return Ok(Vec::new());
    };
    let customers: BTreeSet<&str> = sales
        .iter()
        .map(|s| s.conversion.customer_ref.as_str())
        .collect();
    let clicks: BTreeSet<&str> = sales
        .iter()
        .filter_map(|s| s.conversion.click_id.as_deref())
        .collect();
    let mut found: BTreeMap<Uuid, Touchpoint> = BTreeMap::new();
    let since = oldest - LONGEST_WINDOW;
    for (column, keys) in [
        (touchpoint::COLUMN.customer_ref, customers),
        (touchpoint::COLUMN.click_id, clicks),
    ] {
        let keys: Vec<&str> = keys.into_iter().collect();
        for chunk in keys.chunks(IN_CHUNK) {
            for m in touchpoint::Entity::find()
                .filter(column.is_in(chunk.iter().copied()))
                .filter(touchpoint::COLUMN.occurred_at.gte(since))
                .all(db)
                .await?
            {
                found.insert(m.id, to_touchpoint(m)?);
            }
        }
    }
    let mut by_customer: BTreeMap<&str, Vec<&Touchpoint>> = BTreeMap::new();
    let mut by_click: BTreeMap<&str, Vec<&Touchpoint>> = BTreeMap::new();
    for t in found.values() {
        if let Some(c) = &t.customer_ref {
            by_customer.entry(c).or_default().push(t);
        }
        if let Some(c) = &t.click_id {
            by_click.entry(c).or_default().push(t);
        }
    }
    Ok(sales
        .iter()
        .map(|s| {
            let mut own: BTreeMap<Uuid, Touchpoint> = BTreeMap::new();
            let by_ref = by_customer.get(s.conversion.customer_ref.as_str());
            let by_id = s
                .conversion
                .click_id
                .as_deref()
                .and_then(|c| by_click.get(c));
            for t in by_ref.into_iter().chain(by_id).flatten() {
                own.insert(t.id, (*t).clone());
            }
            own.into_values().collect()
        })
        .collect())
}

/// The rows and postings of one attributed sale.
#[derive(Debug, Default)]
pub(crate) struct Attributed {
    pub results: Vec<attribution_result::ActiveModel>,
    pub credits: Vec<attribution_credit::ActiveModel>,
    pub entries: Vec<JournalEntry>,
}

impl Attributed {
    pub(crate) fn extend(&mut self, other: Attributed) {
        self.results.extend(other.results);
        self.credits.extend(other.credits);
        self.entries.extend(other.entries);
    }
}

/// What a result splits: the sale net of refunds at the time, and those refunds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Base {
    pub amount_minor: i64,
    pub refunded_minor: i64,
}

/// Attributes one sale with the core rules and accrues each credited partner's
/// commission as pending, at the conversion's time. Returns the new result's id too.
pub(crate) fn attribute_sale(
    terms: &Terms,
    sale: &Sale,
    touchpoints: &[Touchpoint],
    base: Base,
    revenue: &mut PeriodRevenue,
) -> Result<(Uuid, Attributed), StoreError> {
    let mut conversion = sale.conversion.clone();
    conversion.amount_minor = base.amount_minor;
    let merchant = conversion.merchant_id;
    let no_pairs = BTreeMap::new();
    let pairs = terms.pairs.get(&merchant).unwrap_or(&no_pairs);
    let partner_terms: BTreeMap<PartnerId, PartnerTerms> = pairs
        .iter()
        .map(|(p, t)| (*p, t.attribution.clone()))
        .collect();
    let found = eligibility(&conversion, touchpoints, &partner_terms);
    let mut named = found
        .eligible
        .iter()
        .filter_map(|e| pairs.get(&e.touchpoint.partner_id))
        .map(|t| t.model);
    let model = match named.next() {
        Some(Some(first)) if named.all(|m| m == Some(first)) => first,
        _ => terms
            .defaults
            .get(&merchant)
            .copied()
            .unwrap_or(BuiltinModel::LastTouch),
    };
    let attribution = attribute(&conversion, found, &model)
        .map_err(|e| StoreError::conflict("attribution_failed", e.to_string()))?;
    let result_id = Uuid::now_v7();
    let period = period_of(conversion.occurred_at);
    let mut out = Attributed::default();
    for credit in &attribution.partners {
        let Some(pair) = pairs.get(&credit.partner_id) else {
            continue;
        };
        let so_far = revenue
            .entry((
                credit.partner_id,
                merchant,
                period.clone(),
                conversion.currency,
            ))
            .or_default();
        *so_far += credit.amount_minor;
        let lines = split_over_lines(credit.amount_minor, &sale.lines)
            .map_err(|e| StoreError::conflict("attribution_failed", e.to_string()))?;
        let c = commission::commission(
            &pair.commission,
            &CommissionBase {
                currency: conversion.currency,
                weight: credit.weight,
                lines,
                period_revenue_minor: *so_far,
            },
        )
        .map_err(|e| StoreError::conflict("commission_terms", e.to_string()))?;
        let accrual = Accrual {
            id: Uuid::now_v7(),
            conversion_id: conversion.id,
            payer: merchant,
            payee: credit.partner_id,
            currency: conversion.currency,
            amount_minor: c.amount_minor,
            accrued_at: conversion.occurred_at,
            payable_at: Accrual::payable_at(conversion.occurred_at, pair.commission.hold()),
        };
        out.entries
            .extend(accrue(&accrual).map_err(|e| StoreError::conflict("ledger", e.to_string()))?);
        out.credits.push(attribution_credit::ActiveModel {
            id: Set(accrual.id),
            attribution_id: Set(result_id),
            conversion_id: Set(conversion.id),
            merchant_id: Set(merchant.0),
            partner_id: Set(credit.partner_id.0),
            currency: Set(conversion.currency.code().to_owned()),
            weight: Set(credit.weight.to_string()),
            amount_minor: Set(credit.amount_minor),
            commission_minor: Set(accrual.amount_minor),
            period: Set(period.clone()),
            accrued_at: Set(accrual.accrued_at),
            payable_at: Set(accrual.payable_at),
        });
    }
    out.results.push(attribution_result::ActiveModel {
        id: Set(result_id),
        conversion_id: Set(conversion.id),
        model_name: Set(attribution.model.name.clone()),
        model_version: Set(attribution.model.version.clone()),
        base_minor: Set(base.amount_minor),
        refund_offset_minor: Set(base.refunded_minor),
        explanation: Set(
            serde_json::to_string(&attribution).map_err(|e| StoreError::corrupt(TABLE, e))?
        ),
        superseded_by: Set(None),
        created_at: Set(Utc::now()),
    });
    Ok((result_id, out))
}

/// A stored result's explanation.
pub(crate) fn explanation(m: &attribution_result::Model) -> Result<Attribution, StoreError> {
    serde_json::from_str(&m.explanation).map_err(|e| StoreError::corrupt(TABLE, e))
}

/// The commission of a stored credit, as the ledger knows it.
pub(crate) fn accrual_of(c: &attribution_credit::Model) -> Result<Accrual, StoreError> {
    Ok(Accrual {
        id: c.id,
        conversion_id: c.conversion_id,
        payer: c.merchant_id.into(),
        payee: c.partner_id.into(),
        currency: crate::money::currency("attribution_credits", &c.currency)?,
        amount_minor: c.commission_minor,
        accrued_at: c.accrued_at,
        payable_at: c.payable_at,
    })
}
