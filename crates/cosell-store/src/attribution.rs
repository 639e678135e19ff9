//! Attribution as the store runs it: load the merchants' partnership terms and the
//! candidate touchpoints in bulk, then hand each sale to `cosell_core` (eligibility,
//! model, allocation, commission, accrual) and turn the results into rows.
//!
//! The model of a conversion: the model its credited partnerships name when they all
//! name the same one, else the merchant's default, else `last_touch`. A named plugin
//! is asked first (see `plugins`); its fallback is the built-in model named with it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use cosell_core::attribution::{
    Attribution, BuiltinModel, Conversion, Eligible, ImpressionPolicy, PartnerTerms, Touchpoint,
    TouchpointKind, eligibility,
};
use cosell_core::catalog::PartnershipStatus;
use cosell_core::commission::{self, CommissionBase, SaleLine, split_over_lines};
use cosell_core::ledger::{
    Accrual, JournalEntry, LedgerError, Position, RefundProgress, accrue, refund,
};
use cosell_core::plugin::PluginRef;
use cosell_core::{Currency, PartnerId};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, ExprTrait, FromQueryResult, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entities::{attribution_credit, attribution_result, partner, partnership, touchpoint};
use crate::hooks::Hooks;
use crate::journal::IN_CHUNK;
use crate::partnerships::plugin_column;
pub(crate) use plugins::read_use;
use plugins::{ModelChoice, ModelNamed};

mod plugins;

const TABLE: &str = "attribution_results";

/// Oldest touchpoint any partnership can credit: the longest window is 365 days.
const LONGEST_WINDOW: TimeDelta = TimeDelta::days(366);

/// One partnership as attribution and commission need it.
#[derive(Debug, Clone)]
struct PairTerms {
    attribution: PartnerTerms,
    commission: commission::CommissionTerms,
    model: ModelNamed,
    commission_plugin: Option<PluginRef>,
    /// When an ended partnership ended (re-attribution only: see [`Terms::load_ended_too`]).
    ended_at: Option<DateTime<Utc>>,
}

/// The active partnerships of a set of merchants (merchant = inviter, who pays the
/// invitee), the ended ones when a re-attribution asked for them, and the merchants'
/// default models.
#[derive(Debug, Default)]
pub(crate) struct Terms {
    pairs: BTreeMap<PartnerId, BTreeMap<PartnerId, PairTerms>>,
    /// Per merchant and partner, the ended partnerships, the first ended first.
    ended: BTreeMap<PartnerId, BTreeMap<PartnerId, Vec<PairTerms>>>,
    defaults: BTreeMap<PartnerId, ModelNamed>,
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
        Self::load_statuses(db, merchants, &[PartnershipStatus::Active]).await
    }

    /// [`Terms::load`], and the ended partnerships for the sales made before they ended:
    /// a re-attribution rates a sale under the partnerships in force when it was made.
    /// Ending a partnership stops what the partner earns from then on; with the active
    /// ones only, a merchant could end a partnership and re-attribute the period to take
    /// back every commission the partner had earned in it, paid ones included (and, with
    /// the active one first, by ending it and partnering again on other terms).
    pub(crate) async fn load_ended_too<C: ConnectionTrait>(
        db: &C,
        merchants: &BTreeSet<PartnerId>,
    ) -> Result<Terms, StoreError> {
        use PartnershipStatus::{Active, Ended};
        Self::load_statuses(db, merchants, &[Active, Ended]).await
    }

    async fn load_statuses<C: ConnectionTrait>(
        db: &C,
        merchants: &BTreeSet<PartnerId>,
        statuses: &[PartnershipStatus],
    ) -> Result<Terms, StoreError> {
        let mut rows = partnership::Entity::find()
            .filter(
                partnership::COLUMN
                    .inviter_id
                    .is_in(merchants.iter().map(|m| m.0)),
            )
            .filter(
                partnership::COLUMN
                    .status
                    .is_in(statuses.iter().map(|s| s.as_str())),
            )
            .all(db)
            .await?;
        // An ended partnership was last updated when it ended.
        rows.sort_by_key(|r| r.updated_at);
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
            let named = ModelNamed {
                model: p
                    .default_attribution_model
                    .as_deref()
                    .map(|json| parse_model("partners", json))
                    .transpose()?,
                plugin: plugin_column("partners", p.default_attribution_plugin.clone())?,
            };
            terms.defaults.insert(PartnerId(*id), named);
        }
        for row in rows {
            let ended_at =
                (row.status == PartnershipStatus::Ended.as_str()).then_some(row.updated_at);
            let p = crate::partnerships::to_domain(row)?;
            let own = partners
                .get(&p.invitee_id.0)
                .map(own_refs)
                .unwrap_or_default();
            let window = u32::try_from(p.terms.attribution_window_days).unwrap_or(1);
            let impressions = p.terms.extra.impressions.unwrap_or(ImpressionPolicy::Count);
            let attribution = PartnerTerms::new(true, window, impressions, own)
                .map_err(|e| StoreError::Invalid(e.into()))?;
            let pair = PairTerms {
                commission: (&p.terms).into(),
                model: ModelNamed {
                    model: p.terms.extra.model,
                    plugin: p.terms.extra.model_plugin.clone(),
                },
                commission_plugin: p.terms.extra.commission_plugin.clone(),
                attribution,
                ended_at,
            };
            if ended_at.is_some() {
                let by_partner = terms.ended.entry(p.inviter_id).or_default();
                by_partner.entry(p.invitee_id).or_default().push(pair);
            } else {
                terms
                    .pairs
                    .entry(p.inviter_id)
                    .or_default()
                    .insert(p.invitee_id, pair);
            }
        }
        Ok(terms)
    }

    /// Whether commissions on these terms depend on the partner's revenue so far in the
    /// period, so conversions must be attributed in the order they are stored.
    pub(crate) fn reads_period_revenue(&self) -> bool {
        self.tiered().next().is_some()
    }

    /// Pairs (partner, merchant) whose terms have tiers or a commission plugin: only
    /// they need period totals.
    fn tiered(&self) -> impl Iterator<Item = (PartnerId, PartnerId)> + '_ {
        let active = self.pairs.iter().flat_map(|(merchant, by_partner)| {
            by_partner
                .iter()
                .map(|(partner, t)| (*partner, *merchant, t))
        });
        let ended = self.ended.iter().flat_map(|(merchant, by_partner)| {
            by_partner
                .iter()
                .flat_map(|(partner, all)| all.iter().map(|t| (*partner, *merchant, t)))
        });
        active
            .chain(ended)
            .filter(|(_, _, t)| !t.commission.tiers.is_empty() || t.commission_plugin.is_some())
            .map(|(partner, merchant, _)| (partner, merchant))
    }

    /// The partnerships of `merchant` in force for a sale at `at`: per partner, the
    /// ended one that ended first after `at`, else the active one.
    fn in_force(&self, merchant: PartnerId, at: DateTime<Utc>) -> BTreeMap<PartnerId, &PairTerms> {
        let mut out: BTreeMap<PartnerId, &PairTerms> = self
            .pairs
            .get(&merchant)
            .into_iter()
            .flatten()
            .map(|(p, t)| (*p, t))
            .collect();
        for (partner, all) in self.ended.get(&merchant).into_iter().flatten() {
            if let Some(t) = all.iter().find(|t| t.ended_at.is_some_and(|e| at < e)) {
                out.insert(*partner, t);
            }
        }
        out
    }

    /// The model of a conversion of `merchant` with these eligible touchpoints: what
    /// their partnerships name when they all name the same, else the merchant's
    /// default. A plugin's fallback is the model named with it, else the merchant's
    /// default model, else `last_touch`.
    fn model_for(
        &self,
        merchant: PartnerId,
        pairs: &BTreeMap<PartnerId, &PairTerms>,
        eligible: &[Eligible],
    ) -> ModelChoice {
        let default = self.defaults.get(&merchant);
        let default_model = default
            .and_then(|d| d.model)
            .unwrap_or(BuiltinModel::LastTouch);
        let mut named = eligible
            .iter()
            .filter_map(|e| pairs.get(&e.touchpoint.partner_id))
            .map(|t| &t.model);
        let chosen = match named.next() {
            Some(first) if first.names_any() && named.all(|n| n == first) => Some(first),
            _ => default,
        };
        ModelChoice {
            plugin: chosen.and_then(|c| c.plugin.clone()),
            fallback: chosen.and_then(|c| c.model).unwrap_or(default_model),
        }
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

/// A partner's attributed totals in a settlement period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PeriodTotal {
    pub revenue_minor: i64,
    pub conversions: u64,
}

/// Running totals per (partner, merchant, period, currency), for tiers and plugins.
pub(crate) type PeriodRevenue = BTreeMap<(PartnerId, PartnerId, String, Currency), PeriodTotal>;

#[derive(FromQueryResult)]
struct RevenueRow {
    partner_id: Uuid,
    merchant_id: Uuid,
    period: String,
    currency: String,
    total: i64,
    conversions: i64,
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
            .column_as(
                Expr::col(attribution_credit::Column::Id).count(),
                "conversions",
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
                PeriodTotal {
                    revenue_minor: r.total,
                    conversions: u64::try_from(r.conversions).unwrap_or_default(),
                },
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

/// A refund already recorded on a sale that is attributed again, and when it happened.
pub(crate) type PastRefund = (RefundProgress, DateTime<Utc>);

/// Attributes one sale with the core rules (or the plugins its terms name) and
/// accrues each credited partner's commission as pending, at the conversion's time.
/// The sale is split whole and `refunds` (those recorded before a re-attribution) are
/// replayed on the new commissions as the refund path posted them on the old ones, so
/// a re-attribution under unchanged terms leaves every partner's net as it was, flat
/// fees and caps included. Returns the new result's id too. Plugins are called here,
/// before any write.
pub(crate) async fn attribute_sale(
    hooks: &dyn Hooks,
    terms: &Terms,
    sale: &Sale,
    touchpoints: &[Touchpoint],
    refunds: &[PastRefund],
    revenue: &mut PeriodRevenue,
) -> Result<(Uuid, Attributed), StoreError> {
    let conversion = &sale.conversion;
    let merchant = conversion.merchant_id;
    let pairs = terms.in_force(merchant, conversion.occurred_at);
    let partner_terms: BTreeMap<PartnerId, PartnerTerms> = pairs
        .iter()
        .map(|(p, t)| (*p, t.attribution.clone()))
        .collect();
    let found = eligibility(conversion, touchpoints, &partner_terms);
    let choice = terms.model_for(merchant, &pairs, &found.eligible);
    let (attribution, model_plugin) =
        plugins::attribute_with(hooks, conversion, found, choice).await?;
    let result_id = Uuid::now_v7();
    let period = period_of(conversion.occurred_at);
    let mut out = Attributed::default();
    for credit in &attribution.partners {
        let Some(pair) = pairs.get(&credit.partner_id) else {
            continue;
        };
        let totals = revenue
            .entry((
                credit.partner_id,
                merchant,
                period.clone(),
                conversion.currency,
            ))
            .or_default();
        let before = *totals;
        // Only compared with tier thresholds (at most `MAX_AMOUNT_MAJOR`) and handed to a
        // commission plugin: past i64 the revenue is above every tier, so it saturates
        // rather than wrap to a negative that would drop the partner to the base rate.
        totals.revenue_minor = totals.revenue_minor.saturating_add(credit.amount_minor);
        totals.conversions += 1;
        let lines = split_over_lines(credit.amount_minor, &sale.lines)
            .map_err(|e| StoreError::conflict("attribution_failed", e.to_string()))?;
        let builtin = CommissionBase {
            currency: conversion.currency,
            weight: credit.weight,
            lines,
            period_revenue_minor: totals.revenue_minor,
        };
        let paid = plugins::commission(hooks, conversion, credit, pair, builtin, before).await?;
        let accrual = Accrual {
            id: Uuid::now_v7(),
            conversion_id: conversion.id,
            payer: merchant,
            payee: credit.partner_id,
            currency: conversion.currency,
            amount_minor: paid.amount_minor,
            accrued_at: conversion.occurred_at,
            payable_at: Accrual::payable_at(conversion.occurred_at, pair.commission.hold()),
        };
        out.entries.extend(
            std::iter::once(accrue(&accrual))
                .chain(replay_refunds(&accrual, refunds))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::conflict("ledger", e.to_string()))?
                .into_iter()
                .flatten(),
        );
        let (rule, plugin_id, fallback) = paid.columns()?;
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
            commission_rule: Set(rule.as_ref().map(|r| r.name.clone())),
            commission_rule_version: Set(rule.map(|r| r.version)),
            commission_plugin_id: Set(plugin_id),
            commission_plugin_fallback: Set(fallback),
        });
    }
    let (plugin_id, plugin_fallback) = plugins::use_columns(model_plugin.as_ref())?;
    out.results.push(attribution_result::ActiveModel {
        id: Set(result_id),
        conversion_id: Set(conversion.id),
        model_name: Set(attribution.model.name.clone()),
        model_version: Set(attribution.model.version.clone()),
        base_minor: Set(conversion.amount_minor),
        refund_offset_minor: Set(0),
        explanation: Set(
            serde_json::to_string(&attribution).map_err(|e| StoreError::corrupt(TABLE, e))?
        ),
        superseded_by: Set(None),
        created_at: Set(Utc::now()),
        plugin_id: Set(plugin_id),
        plugin_fallback: Set(plugin_fallback),
        ledger_version: Set(None),
    });
    Ok((result_id, out))
}

/// The reversals `refunds` make on a commission just accrued (so still pending).
fn replay_refunds<'a>(
    accrual: &'a Accrual,
    refunds: &'a [PastRefund],
) -> impl Iterator<Item = Result<Option<JournalEntry>, LedgerError>> + 'a {
    let pending = Position {
        payer: accrual.payer,
        payee: accrual.payee,
        currency: accrual.currency,
        pending: accrual.amount_minor,
        payable: 0,
        settled: 0,
        clawback: 0,
    };
    refunds
        .iter()
        .map(move |(progress, at)| refund(accrual, &pending, progress, *at))
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
