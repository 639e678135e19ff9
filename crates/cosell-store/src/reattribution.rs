//! Re-attribution of a merchant's conversions in a period, after a model or terms
//! changed. Each current result is kept and marked superseded by a new one; its
//! commissions are withdrawn by `supersede` (what was paid is clawed back) and the new
//! result's commissions accrue on the whole sale, reduced by its refunds so far exactly
//! as the refund path reduced the old ones.

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_core::attribution::Conversion;
use cosell_core::commission::SaleLine;
use cosell_core::ledger::{RefundProgress, supersede};
use cosell_core::metrics::Period;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use crate::attribution::{
    Attributed, PastRefund, PeriodRevenue, Sale, Terms, accrual_of, attribute_sale, candidates,
    period_revenue,
};
use crate::conversions::current_result;
use crate::entities::{
    attribution_credit, attribution_result, conversion, conversion_line, refund,
};
use crate::journal::{insert_all, insert_entries, positions_of};
use crate::ledger_guard;
use crate::money::currency;
use crate::{Store, StoreError};

/// Takes the credits a re-attribution replaces out of the period revenue tiers are
/// rated on: their replacements are added back one by one as they are computed, so
/// counting both would rate each new result on the sale twice.
fn superseded_from(
    revenue: &mut PeriodRevenue,
    credits: &[attribution_credit::Model],
) -> Result<(), StoreError> {
    for c in credits {
        let key = (
            PartnerId(c.partner_id),
            PartnerId(c.merchant_id),
            c.period.clone(),
            currency("attribution_credits", &c.currency)?,
        );
        // Only tiered pairs (and those with a commission plugin) are loaded; the
        // others' revenue is never rated.
        if let Some(total) = revenue.get_mut(&key) {
            total.revenue_minor = total.revenue_minor.saturating_sub(c.amount_minor);
            total.conversions = total.conversions.saturating_sub(1);
        }
    }
    Ok(())
}

/// The refunds recorded on `sale` in the order they were made, as the refund path
/// counted them: from the sale's running refunded total, on the whole sale.
async fn past_refunds<C: ConnectionTrait>(
    db: &C,
    sale: &Conversion,
) -> Result<Vec<PastRefund>, StoreError> {
    Ok(refund::Entity::find()
        .filter(refund::COLUMN.conversion_id.eq(sale.id))
        .order_by_asc(refund::COLUMN.refunded_before_minor)
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            let progress = RefundProgress {
                refund_id: r.id,
                conversion_total_minor: sale.amount_minor,
                refunded_before_minor: r.refunded_before_minor,
                refunded_after_minor: r.refunded_before_minor + r.amount_minor,
            };
            (progress, r.occurred_at)
        })
        .collect())
}

impl Store {
    /// Re-attributes `merchant`'s conversions that occurred in `period` with the
    /// current terms and models. Returns how many were re-attributed.
    pub async fn reattribute(
        &self,
        merchant: PartnerId,
        period: Period,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let rows = conversion::Entity::find()
            .filter(conversion::COLUMN.merchant_id.eq(merchant.0))
            .filter(conversion::COLUMN.occurred_at.gte(period.start))
            .filter(conversion::COLUMN.occurred_at.lt(period.end))
            .order_by_asc(conversion::COLUMN.id)
            .all(self.db())
            .await?;
        let mut sales = Vec::with_capacity(rows.len());
        for c in &rows {
            let lines = conversion_line::Entity::find()
                .filter(conversion_line::COLUMN.conversion_id.eq(c.id))
                .order_by_asc(conversion_line::COLUMN.line_no)
                .all(self.db())
                .await?;
            sales.push(Sale {
                conversion: Conversion {
                    id: c.id,
                    merchant_id: merchant,
                    customer_ref: c.customer_ref.clone(),
                    click_id: c.click_id.clone(),
                    occurred_at: c.occurred_at,
                    currency: currency("conversions", &c.currency)?,
                    amount_minor: c.amount_minor,
                },
                lines: lines
                    .into_iter()
                    .map(|l| SaleLine {
                        category: l.category,
                        amount_minor: l.amount_minor,
                    })
                    .collect(),
            });
        }
        let terms = Terms::load_ended_too(self.db(), &[merchant].into()).await?;
        let touchpoints = candidates(self.db(), &sales).await?;
        let mut old = Vec::with_capacity(sales.len());
        for sale in &sales {
            let result = current_result(self.db(), sale.conversion.id).await?;
            let credits = attribution_credit::Entity::find()
                .filter(attribution_credit::COLUMN.attribution_id.eq(result.id))
                .all(self.db())
                .await?;
            old.push((result, credits));
        }
        let mut revenue = period_revenue(self.db(), &terms, &sales).await?;
        for (_, credits) in &old {
            superseded_from(&mut revenue, credits)?;
        }
        let mut done = 0;
        for ((sale, touches), (old, credits)) in sales.iter().zip(&touchpoints).zip(old) {
            let refunds = past_refunds(self.db(), &sale.conversion).await?;
            let (new_id, mut fresh): (Uuid, Attributed) =
                attribute_sale(self.hooks(), &terms, sale, touches, &refunds, &mut revenue).await?;
            let ids: Vec<Uuid> = credits.iter().map(|c| c.id).collect();
            let txn = self.db().begin().await?;
            // As a refund: read what the old commissions hold once no settlement run is
            // writing, so what a run just paid is clawed back, not withdrawn as unpaid.
            let version = ledger_guard::change_turn(&txn).await?;
            // The new commissions replay the refunds read before the plugins were asked;
            // one recorded since reversed the old commissions only, and withdrawing those
            // would drop it: the new ones would pay the refunded part.
            let recorded = refund::Entity::find()
                .filter(refund::COLUMN.conversion_id.eq(sale.conversion.id))
                .count(&txn)
                .await?;
            if usize::try_from(recorded).ok() != Some(refunds.len()) {
                txn.rollback().await?;
                return Err(StoreError::conflict(
                    "concurrent_refund",
                    format!(
                        "conversion {} was refunded while it was re-attributed; retry (the \
                         {done} conversions re-attributed before it keep their new results)",
                        sale.conversion.id
                    ),
                ));
            }
            for result in &mut fresh.results {
                result.ledger_version = Set(Some(version));
            }
            let held = positions_of(&txn, &ids).await?;
            for credit in &credits {
                if let Some(p) = held.get(&credit.id) {
                    fresh.entries.extend(
                        supersede(&accrual_of(credit)?, p, new_id, now)
                            .map_err(|e| StoreError::conflict("ledger", e.to_string()))?,
                    );
                }
            }
            insert_all(&txn, fresh.results).await?;
            insert_all(&txn, fresh.credits).await?;
            insert_entries(&txn, &fresh.entries).await?;
            let marked = attribution_result::Entity::update_many()
                .set(attribution_result::ActiveModel {
                    superseded_by: Set(Some(new_id)),
                    ..Default::default()
                })
                .filter(attribution_result::COLUMN.id.eq(old.id))
                .filter(attribution_result::COLUMN.superseded_by.is_null())
                .exec(&txn)
                .await?;
            if marked.rows_affected != 1 {
                txn.rollback().await?;
                return Err(StoreError::conflict(
                    "concurrent_reattribution",
                    "another re-attribution of this period is running; retry",
                ));
            }
            txn.commit().await?;
            done += 1;
        }
        Ok(done)
    }
}

impl Store {
    /// Sets `merchant`'s default attribution model: `model`, or `plugin` with `model`
    /// as its fallback.
    pub async fn set_default_model(
        &self,
        merchant: PartnerId,
        model: cosell_core::attribution::BuiltinModel,
        plugin: Option<cosell_core::plugin::PluginRef>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(&model).map_err(|e| StoreError::corrupt("partners", e))?;
        crate::entities::partner::Entity::update_many()
            .set(crate::entities::partner::ActiveModel {
                default_attribution_model: Set(Some(json)),
                default_attribution_plugin: Set(plugin.map(String::from)),
                ..Default::default()
            })
            .filter(crate::entities::partner::COLUMN.id.eq(merchant.0))
            .exec(self.db())
            .await?;
        Ok(())
    }
}
