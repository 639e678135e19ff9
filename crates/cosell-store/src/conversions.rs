//! Conversions: a merchant's orders, unique per merchant and order id, attributed and
//! accrued in the same transaction they are stored in. The same order with the same
//! body replays; with another body it is a conflict. Many conversions go through the
//! same path in batches (`record_conversions`), which is how bulk import stays fast.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use cosell_core::attribution::{Attribution, Conversion, ModelRef, OthersShare};
use cosell_core::catalog::parse_text;
use cosell_core::commission::SaleLine;
use cosell_core::customer::check_customer_ref;
use cosell_core::plugin::PluginUse;
use cosell_core::{Currency, PartnerId, ValidationErrors};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::attribution::{
    Attributed, Sale, Terms, attribute_sale, candidates, explanation, period_revenue, read_use,
};
use crate::entities::{
    attribution_credit, attribution_result, conversion, conversion_line, product, refund,
};
use crate::journal::{IN_CHUNK, insert_all, insert_entries, is_unique_violation};
use crate::money::currency;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError, Tenant};

const TABLE: &str = "conversions";

/// How far in the future an event may be dated: clocks drift, but not by more.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Most lines one conversion may have.
const MAX_LINES: usize = 1_000;

/// One sold line as the merchant reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewLine {
    /// One of the merchant's products; its SKU and category are used.
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price: Decimal,
}

/// A conversion as the merchant reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewConversion {
    pub order_id: String,
    pub customer_ref: String,
    pub click_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub currency: String,
    pub lines: Vec<NewLine>,
}

impl NewConversion {
    /// The hash that tells a replay from a conflicting reuse of an order id; decimals
    /// are normalised so `10.0` and `10.00` are the same body.
    fn request_hash(&self) -> String {
        let mut canonical = self.clone();
        for l in &mut canonical.lines {
            l.unit_price = l.unit_price.normalize();
        }
        let json = serde_json::to_vec(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }
}

/// What happened to one reported conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Created(Uuid),
    /// The same order with the same body was recorded before.
    Replayed(Uuid),
    /// The same order id was recorded before with another body.
    Conflict(Uuid),
}

/// A stored line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionLine {
    pub product_id: Option<Uuid>,
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// A credited partner of an attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// The commission's accrual id.
    pub id: Uuid,
    pub partner_id: PartnerId,
    pub weight: Decimal,
    pub amount_minor: i64,
    pub commission_minor: i64,
    /// The commission plugin that computed the commission (name and version);
    /// `None`: the partnership's terms.
    pub commission_rule: Option<ModelRef>,
    /// The commission plugin the partnership named, if any, and why its answer was
    /// not used, if it was not.
    pub commission_plugin: Option<PluginUse>,
}

/// A stored conversion with its lines, refunds so far and current attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionRecord {
    pub id: Uuid,
    pub merchant_id: PartnerId,
    pub order_id: String,
    pub customer_ref: String,
    pub click_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub currency: Currency,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub lines: Vec<ConversionLine>,
    pub model: String,
    pub credits: Vec<Credit>,
}

/// An attribution result with its explanation.
#[derive(Debug, Clone)]
pub struct AttributionRecord {
    pub id: Uuid,
    pub conversion_id: Uuid,
    pub base_minor: i64,
    pub superseded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The whole explanation, or a credited referrer's own part of it.
    pub attribution: Attribution,
    /// In a referrer's view, the other partners' part, summed; `None` in the full view.
    pub others: Option<OthersShare>,
    /// The attribution plugin asked, if any, and why its answer was not used, if it
    /// was not (the model is then the built-in fallback).
    pub plugin: Option<PluginUse>,
    /// The credited partners with their commissions, by partner id.
    pub credits: Vec<Credit>,
}

/// A batch checked against what was stored when it was read: each conversion's outcome,
/// and the rows of the new ones, not yet written.
pub(crate) struct Checked {
    pub(crate) outcomes: Vec<Recorded>,
    pub(crate) rows: Option<NewRows>,
}

/// The rows of a batch's new conversions with their attribution and accruals.
pub(crate) struct NewRows {
    conversions: Vec<conversion::ActiveModel>,
    lines: Vec<conversion_line::ActiveModel>,
    attributed: Attributed,
}

/// A validated conversion and its rows.
struct Draft {
    hash: String,
    row: conversion::ActiveModel,
    lines: Vec<conversion_line::ActiveModel>,
    sale: Sale,
}

/// Checks a conversion and builds its rows; `products` are the merchant's, by id.
fn draft(
    merchant: PartnerId,
    new: &NewConversion,
    products: &BTreeMap<Uuid, product::Model>,
    now: DateTime<Utc>,
) -> Result<Draft, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let order_id = errors.take(parse_text("order_id", &new.order_id, 200));
    let customer_ref = errors.take(
        check_customer_ref("customer_ref", &new.customer_ref).map(|()| new.customer_ref.clone()),
    );
    let currency = errors.take(Currency::parse(&new.currency));
    if new.occurred_at > now + MAX_CLOCK_SKEW {
        errors.push("occurred_at", "is more than 5 minutes in the future");
    }
    if new.lines.is_empty() || new.lines.len() > MAX_LINES {
        errors.push("lines", format!("give 1 to {MAX_LINES} lines"));
    }
    let mut lines = Vec::with_capacity(new.lines.len());
    let mut sale_lines = Vec::with_capacity(new.lines.len());
    let mut total: i64 = 0;
    let id = Uuid::now_v7();
    for (i, l) in new.lines.iter().enumerate() {
        // Each field of the line is checked whatever the others hold, so that the answer
        // lists every bad field, not the first of each line.
        let (product, product_known) = match l.product_id {
            Some(p) => match products.get(&p) {
                Some(found) => (Some(found), true),
                None => {
                    errors.push(
                        format!("lines[{i}].product_id"),
                        "is not one of your products",
                    );
                    (None, false)
                }
            },
            None => (None, true),
        };
        let sku = l.sku.clone().or_else(|| product.map(|p| p.sku.clone()));
        let sku = sku.filter(|s| !s.trim().is_empty());
        // An unknown product already says why the line has no SKU.
        if sku.is_none() && product_known {
            errors.push(format!("lines[{i}].sku"), "give a product_id or a sku");
        }
        if l.quantity < 1 {
            errors.push(format!("lines[{i}].quantity"), "must be at least 1");
        }
        let price = currency.and_then(|currency| {
            errors.take(currency.parse_amount(&format!("lines[{i}].unit_price"), l.unit_price))
        });
        let (Some(sku), Some(currency), Some(price), true, true) =
            (sku, currency, price, l.quantity >= 1, product_known)
        else {
            continue;
        };
        // Every stored amount stays within the bound, so sums over them (metrics, tiers,
        // statements) have room; a wrapped sum would be a wrong figure, not an error.
        let max = currency.max_minor();
        let Some(amount) = price.checked_mul(l.quantity).filter(|a| *a <= max) else {
            errors.push(
                format!("lines[{i}].quantity"),
                format!("the line total {}", currency.over_max_message()),
            );
            continue;
        };
        let Some(sum) = total.checked_add(amount).filter(|t| *t <= max) else {
            errors.push(
                "lines",
                format!("the conversion total {}", currency.over_max_message()),
            );
            continue;
        };
        total = sum;
        let amount = (amount, sum);
        let category = l
            .category
            .clone()
            .or_else(|| product.map(|p| p.category.clone()));
        sale_lines.push(SaleLine {
            category: category.clone(),
            amount_minor: amount.0,
        });
        lines.push(conversion_line::ActiveModel {
            conversion_id: Set(id),
            line_no: Set(i32::try_from(i).unwrap_or(i32::MAX)),
            product_id: Set(l.product_id),
            sku: Set(sku),
            category: Set(category),
            quantity: Set(l.quantity),
            unit_price_minor: Set(price),
            amount_minor: Set(amount.0),
        });
    }
    if total == 0 && errors.0.is_empty() {
        errors.push("lines", "the conversion amount must be positive");
    }
    errors.clone().into_result()?;
    let (Some(order_id), Some(customer_ref), Some(currency)) = (order_id, customer_ref, currency)
    else {
        return Err(errors);
    };
    let conversion = Conversion {
        id,
        merchant_id: merchant,
        customer_ref: customer_ref.clone(),
        click_id: new.click_id.clone().filter(|c| !c.is_empty()),
        occurred_at: new.occurred_at,
        currency,
        amount_minor: total,
    };
    let hash = new.request_hash();
    Ok(Draft {
        row: conversion::ActiveModel {
            id: Set(id),
            merchant_id: Set(merchant.0),
            order_id: Set(order_id),
            customer_ref: Set(customer_ref),
            click_id: Set(conversion.click_id.clone()),
            occurred_at: Set(conversion.occurred_at),
            currency: Set(currency.code().to_owned()),
            amount_minor: Set(total),
            request_hash: Set(hash.clone()),
            created_at: Set(now),
        },
        hash,
        lines,
        sale: Sale {
            conversion,
            lines: sale_lines,
        },
    })
}

/// How a refused batch names the fields of its `i`-th conversion: `conversions[i].field`.
const BATCH_FIELD: &str = "conversions[";

/// Which conversion of a refused batch `field` is about, and its field there: the inverse
/// of the batch's naming (a batch of one names its fields without the prefix).
pub fn conversion_of_field(field: &str) -> (usize, &str) {
    field
        .strip_prefix(BATCH_FIELD)
        .and_then(|rest| rest.split_once("]."))
        .and_then(|(i, inner)| Some((i.parse().ok()?, inner)))
        .unwrap_or((0, field))
}

impl Store {
    /// Records `merchant`'s conversions: validates them all (any error refuses the
    /// batch, each field prefixed with `conversions[i].` when there are several),
    /// replays or refuses order ids seen before, and stores the new ones with their
    /// attribution, credits and pending commissions in one transaction.
    pub async fn record_conversions(
        &self,
        merchant: PartnerId,
        batch: &[NewConversion],
        now: DateTime<Utc>,
    ) -> Result<Vec<Recorded>, StoreError> {
        // A concurrent request may store the same order between our check and insert:
        // the unique key refuses ours, and the second pass replays or refuses it.
        match self.try_record(merchant, batch, now).await {
            Err(StoreError::Db(e)) if is_unique_violation(&e) => {
                self.try_record(merchant, batch, now).await
            }
            other => other,
        }
    }

    async fn try_record(
        &self,
        merchant: PartnerId,
        batch: &[NewConversion],
        now: DateTime<Utc>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let terms = Terms::load(self.db(), &[merchant].into()).await?;
        let checked = self.check_conversions(merchant, batch, now, &terms).await?;
        self.write_conversions(checked.rows).await?;
        Ok(checked.outcomes)
    }

    /// Validates `batch`, tells new orders from replays and conflicts by what is stored,
    /// and attributes the new ones on `terms`: everything but the write.
    pub(crate) async fn check_conversions(
        &self,
        merchant: PartnerId,
        batch: &[NewConversion],
        now: DateTime<Utc>,
        terms: &Terms,
    ) -> Result<Checked, StoreError> {
        let wanted: BTreeSet<Uuid> = batch
            .iter()
            .flat_map(|c| c.lines.iter().filter_map(|l| l.product_id))
            .collect();
        let mut products = BTreeMap::new();
        let wanted: Vec<Uuid> = wanted.into_iter().collect();
        for chunk in wanted.chunks(IN_CHUNK) {
            for p in product::Entity::find()
                .filter(product::COLUMN.id.is_in(chunk.iter().copied()))
                .filter(product::COLUMN.partner_id.eq(merchant.0))
                .all(self.db())
                .await?
            {
                products.insert(p.id, p);
            }
        }
        let mut errors = ValidationErrors::default();
        let mut drafts = Vec::with_capacity(batch.len());
        for (i, new) in batch.iter().enumerate() {
            match draft(merchant, new, &products, now) {
                Ok(d) => drafts.push(d),
                Err(e) if batch.len() == 1 => errors.0.extend(e.0),
                Err(e) => errors.0.extend(e.0.into_iter().map(|mut f| {
                    f.field = format!("{BATCH_FIELD}{i}].{}", f.field);
                    f
                })),
            }
        }
        errors.into_result()?;

        let order_ids: Vec<String> = batch.iter().map(|c| c.order_id.trim().to_owned()).collect();
        let mut seen: BTreeMap<String, (Uuid, String)> = BTreeMap::new();
        for chunk in order_ids.chunks(IN_CHUNK) {
            for c in conversion::Entity::find()
                .filter(conversion::COLUMN.merchant_id.eq(merchant.0))
                .filter(conversion::COLUMN.order_id.is_in(chunk.iter().cloned()))
                .all(self.db())
                .await?
            {
                seen.insert(c.order_id, (c.id, c.request_hash));
            }
        }
        let mut outcomes = Vec::with_capacity(drafts.len());
        let mut fresh = Vec::with_capacity(drafts.len());
        for d in drafts {
            let order = d.sale.conversion.id;
            let order_id = order_ids[outcomes.len()].clone();
            match seen.get(&order_id) {
                Some((id, hash)) if *hash == d.hash => outcomes.push(Recorded::Replayed(*id)),
                Some((id, _)) => outcomes.push(Recorded::Conflict(*id)),
                None => {
                    // A repeated order id inside one batch counts as seen from here on.
                    seen.insert(order_id, (order, d.hash.clone()));
                    outcomes.push(Recorded::Created(order));
                    fresh.push(d);
                }
            }
        }
        if fresh.is_empty() {
            return Ok(Checked {
                outcomes,
                rows: None,
            });
        }
        let sales: Vec<Sale> = fresh.iter().map(|d| d.sale.clone()).collect();
        let touchpoints = candidates(self.db(), &sales).await?;
        let mut revenue = period_revenue(self.db(), terms, &sales).await?;
        let mut attributed = Attributed::default();
        for (sale, touches) in sales.iter().zip(&touchpoints) {
            let (_, one) =
                attribute_sale(self.hooks(), terms, sale, touches, &[], &mut revenue).await?;
            attributed.extend(one);
        }
        let mut conversions = Vec::with_capacity(fresh.len());
        let mut lines = Vec::with_capacity(fresh.len());
        for d in fresh {
            conversions.push(d.row);
            lines.extend(d.lines);
        }
        Ok(Checked {
            outcomes,
            rows: Some(NewRows {
                conversions,
                lines,
                attributed,
            }),
        })
    }

    /// Writes a checked batch's new rows in one transaction. An order stored since the
    /// check fails it on the (merchant, order id) key.
    pub(crate) async fn write_conversions(&self, rows: Option<NewRows>) -> Result<(), StoreError> {
        let Some(rows) = rows else { return Ok(()) };
        let txn = self.db().begin().await?;
        insert_all(&txn, rows.conversions).await?;
        insert_all(&txn, rows.lines).await?;
        insert_all(&txn, rows.attributed.results).await?;
        insert_all(&txn, rows.attributed.credits).await?;
        insert_entries(&txn, &rows.attributed.entries).await?;
        txn.commit().await?;
        Ok(())
    }

    /// One conversion of `tenant` (its merchant) with its current attribution.
    pub async fn get_conversion(
        &self,
        tenant: Tenant,
        id: Uuid,
    ) -> Result<ConversionRecord, StoreError> {
        let c = find(self.db(), tenant, id).await?;
        let lines = conversion_line::Entity::find()
            .filter(conversion_line::COLUMN.conversion_id.eq(id))
            .order_by_asc(conversion_line::COLUMN.line_no)
            .all(self.db())
            .await?;
        let refunded = refunded(self.db(), id).await?;
        let current = current_result(self.db(), id).await?;
        let credits = attribution_credit::Entity::find()
            .filter(attribution_credit::COLUMN.attribution_id.eq(current.id))
            .order_by_asc(attribution_credit::COLUMN.partner_id)
            .all(self.db())
            .await?;
        Ok(ConversionRecord {
            id: c.id,
            merchant_id: c.merchant_id.into(),
            order_id: c.order_id,
            customer_ref: c.customer_ref,
            click_id: c.click_id,
            occurred_at: c.occurred_at,
            currency: currency(TABLE, &c.currency)?,
            amount_minor: c.amount_minor,
            refunded_minor: refunded,
            lines: lines
                .into_iter()
                .map(|l| ConversionLine {
                    product_id: l.product_id,
                    sku: l.sku,
                    category: l.category,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    amount_minor: l.amount_minor,
                })
                .collect(),
            model: current.model_name,
            credits: credits
                .into_iter()
                .map(credit_of)
                .collect::<Result<_, StoreError>>()?,
        })
    }

    /// Every attribution result of a conversion, newest first: the current one and
    /// those it superseded, each with its explanation. The merchant (and operators) see
    /// all of it; a partner any of the results credited sees each one as
    /// `Attribution::seen_by` shows it; anyone else finds no such conversion.
    pub async fn conversion_attributions(
        &self,
        tenant: Tenant,
        id: Uuid,
    ) -> Result<Vec<AttributionRecord>, StoreError> {
        let referrer = match find(self.db(), tenant, id).await {
            Ok(_) => None,
            Err(StoreError::NotFound(what)) => match tenant {
                Tenant::Partner(p) if credited(self.db(), id, p).await? => Some(p),
                _ => return Err(StoreError::NotFound(what)),
            },
            Err(e) => return Err(e),
        };
        let mut credits: BTreeMap<Uuid, Vec<Credit>> = BTreeMap::new();
        for c in attribution_credit::Entity::find()
            .filter(attribution_credit::COLUMN.conversion_id.eq(id))
            .order_by_asc(attribution_credit::COLUMN.partner_id)
            .all(self.db())
            .await?
        {
            // A referrer sees its own commission only.
            if referrer.is_none_or(|p| p.0 == c.partner_id) {
                credits
                    .entry(c.attribution_id)
                    .or_default()
                    .push(credit_of(c)?);
            }
        }
        attribution_result::Entity::find()
            .filter(attribution_result::COLUMN.conversion_id.eq(id))
            .order_by_desc(attribution_result::COLUMN.id)
            .all(self.db())
            .await?
            .into_iter()
            .map(|r| {
                let full = explanation(&r)?;
                let (attribution, others) = match referrer {
                    Some(p) => {
                        let (own, others) = full.seen_by(p);
                        (own, Some(others))
                    }
                    None => (full, None),
                };
                Ok(AttributionRecord {
                    attribution,
                    others,
                    plugin: read_use(
                        "attribution_results",
                        r.plugin_id.as_deref(),
                        r.plugin_fallback.as_deref(),
                    )?,
                    credits: credits.remove(&r.id).unwrap_or_default(),
                    id: r.id,
                    conversion_id: r.conversion_id,
                    base_minor: r.base_minor,
                    superseded_by: r.superseded_by,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}

/// A stored credit with what computed its commission.
fn credit_of(c: attribution_credit::Model) -> Result<Credit, StoreError> {
    const CREDITS: &str = "attribution_credits";
    let commission_rule = match (c.commission_rule, c.commission_rule_version) {
        (Some(name), Some(version)) => Some(ModelRef { name, version }),
        _ => None,
    };
    Ok(Credit {
        id: c.id,
        partner_id: c.partner_id.into(),
        weight: crate::money::decimal(CREDITS, &c.weight)?,
        amount_minor: c.amount_minor,
        commission_minor: c.commission_minor,
        commission_rule,
        commission_plugin: read_use(
            CREDITS,
            c.commission_plugin_id.as_deref(),
            c.commission_plugin_fallback.as_deref(),
        )?,
    })
}

/// A conversion `tenant` may see: its merchant's, or any for operators.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: Tenant,
    id: Uuid,
) -> Result<conversion::Model, StoreError> {
    conversion::Entity::find_by_id(id)
        .at_most_one_row(db)
        .await?
        .filter(|c| tenant.sees(c.merchant_id.into()))
        .ok_or(StoreError::NotFound("conversion"))
}

/// Whether any attribution result of conversion `id`, current or superseded, credited
/// `partner`.
async fn credited<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    partner: PartnerId,
) -> Result<bool, StoreError> {
    Ok(attribution_credit::Entity::find()
        .filter(attribution_credit::COLUMN.conversion_id.eq(id))
        .filter(attribution_credit::COLUMN.partner_id.eq(partner.0))
        .one(db)
        .await?
        .is_some())
}

/// The refunded total of a conversion so far.
pub(crate) async fn refunded<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<i64, StoreError> {
    Ok(refund::Entity::find()
        .filter(refund::COLUMN.conversion_id.eq(id))
        .all(db)
        .await?
        .iter()
        .map(|r| r.amount_minor)
        .sum())
}

/// The result of a conversion no newer one superseded.
pub(crate) async fn current_result<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<attribution_result::Model, StoreError> {
    attribution_result::Entity::find()
        .filter(attribution_result::COLUMN.conversion_id.eq(id))
        .filter(attribution_result::COLUMN.superseded_by.is_null())
        .one(db)
        .await?
        .ok_or_else(|| StoreError::corrupt("attribution_results", format!("none current for {id}")))
}
