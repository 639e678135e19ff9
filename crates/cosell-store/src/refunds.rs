//! Refunds: whole or per line, never more than was sold. Each credited commission of the
//! current attribution is reversed in proportion (pending or payable) or clawed back
//! (settled) by `cosell_core::ledger::refund`, in the refund's own transaction, which
//! takes its turn on the ledger guard before reading the positions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cosell_core::ValidationErrors;
use cosell_core::ledger::{RefundProgress, refund};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use crate::attribution::accrual_of;
use crate::conversions::{MAX_CLOCK_SKEW, current_result, find};
use crate::entities::{attribution_credit, conversion_line, refund as refund_row, refund_line};
use crate::journal::{insert_all, insert_entries, is_unique_violation, positions_of};
use crate::ledger_guard;
use crate::{Store, StoreError, Tenant};

/// A refund as the merchant asks for it.
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// `(line number, quantity)`; `None` refunds everything not yet refunded.
    pub lines: Option<Vec<(i32, i64)>>,
    pub occurred_at: DateTime<Utc>,
}

/// A stored refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: Uuid,
    pub conversion_id: Uuid,
    pub amount_minor: i64,
    /// The conversion's refunded total including this refund.
    pub refunded_total_minor: i64,
    pub occurred_at: DateTime<Utc>,
    /// `(line number, quantity, amount in minor units)`.
    pub lines: Vec<(i32, i64, i64)>,
}

impl Store {
    /// Refunds part or all of a conversion of `tenant`'s and reverses or claws back
    /// the commissions on it.
    pub async fn refund_conversion(
        &self,
        tenant: Tenant,
        conversion_id: Uuid,
        new: NewRefund,
        now: DateTime<Utc>,
    ) -> Result<RefundRecord, StoreError> {
        let c = find(self.db(), tenant, conversion_id).await?;
        let mut errors = ValidationErrors::default();
        if new.occurred_at > now + MAX_CLOCK_SKEW {
            errors.push("occurred_at", "is more than 5 minutes in the future");
        }
        if new.occurred_at < c.occurred_at {
            errors.push("occurred_at", "is before the conversion");
        }
        let sold: BTreeMap<i32, conversion_line::Model> = conversion_line::Entity::find()
            .filter(conversion_line::COLUMN.conversion_id.eq(conversion_id))
            .all(self.db())
            .await?
            .into_iter()
            .map(|l| (l.line_no, l))
            .collect();
        let earlier = refund_row::Entity::find()
            .filter(refund_row::COLUMN.conversion_id.eq(conversion_id))
            .all(self.db())
            .await?;
        let before: i64 = earlier.iter().map(|r| r.amount_minor).sum();
        let mut remaining: BTreeMap<i32, i64> =
            sold.iter().map(|(n, l)| (*n, l.quantity)).collect();
        for l in refund_line::Entity::find()
            .filter(
                refund_line::COLUMN
                    .refund_id
                    .is_in(earlier.iter().map(|r| r.id)),
            )
            .all(self.db())
            .await?
        {
            *remaining.entry(l.line_no).or_default() -= l.quantity;
        }
        let lines_given = new.lines.is_some();
        let asked: Vec<(i32, i64)> = match new.lines {
            // An empty list is a mistake, not "refund nothing" nor "refund everything".
            Some(lines) if lines.is_empty() => {
                errors.push(
                    "lines",
                    "give at least one line, or leave `lines` out to refund everything not yet refunded",
                );
                lines
            }
            Some(lines) => lines,
            None => remaining
                .iter()
                .filter(|(_, q)| **q > 0)
                .map(|(n, q)| (*n, *q))
                .collect(),
        };
        let mut lines = Vec::with_capacity(asked.len());
        let mut named = std::collections::BTreeSet::new();
        for (i, (line_no, quantity)) in asked.into_iter().enumerate() {
            // A refund stores one row per line: a line named twice would hit the
            // (refund, line) key on insert, so it is refused here with the others.
            if !named.insert(line_no) {
                errors.push(
                    format!("lines[{i}].line"),
                    format!("line {line_no} is named twice; give it once with the total quantity"),
                );
                continue;
            }
            let left = remaining.get_mut(&line_no);
            match (sold.get(&line_no), left) {
                (Some(line), Some(left)) if quantity >= 1 && quantity <= *left => {
                    *left -= quantity;
                    lines.push((line_no, quantity, quantity * line.unit_price_minor));
                }
                (Some(_), Some(left)) => errors.push(
                    format!("lines[{i}].quantity"),
                    format!("must be between 1 and {left}, the quantity not yet refunded"),
                ),
                _ => errors.push(
                    format!("lines[{i}].line"),
                    format!("the conversion has no line {line_no}"),
                ),
            }
        }
        let amount: i64 = lines.iter().map(|(_, _, a)| a).sum();
        // A refund of nothing is not stored: the next refund would count from the same
        // total, which the refunds' key refuses. Lines given free are not money back.
        if amount == 0 && lines_given && errors.0.is_empty() {
            errors.push(
                "lines",
                "the lines named were sold for 0: there is no amount to refund",
            );
        }
        errors.into_result()?;
        if amount == 0 {
            return Err(StoreError::conflict(
                "nothing_to_refund",
                "everything sold has been refunded",
            ));
        }
        let after = before + amount;
        let id = Uuid::now_v7();

        let txn = self.db().begin().await?;
        // Whether a commission is reversed or clawed back depends on whether a settlement
        // run paid it: read its position only once no run is writing (see `ledger_guard`).
        // The current result too: a re-attribution that committed before our turn
        // withdrew the old result's commissions, so the refund reverses the new ones.
        let ledger_version = ledger_guard::change_turn(&txn).await?;
        let result = current_result(&txn, conversion_id).await?;
        let credits = attribution_credit::Entity::find()
            .filter(attribution_credit::COLUMN.attribution_id.eq(result.id))
            .all(&txn)
            .await?;
        let ids: Vec<Uuid> = credits.iter().map(|c| c.id).collect();
        let held = positions_of(&txn, &ids).await?;
        let mut entries = Vec::new();
        for credit in &credits {
            let accrual = accrual_of(credit)?;
            let Some(position) = held.get(&credit.id) else {
                continue;
            };
            // Counted from what the current result split: the sale net of earlier refunds.
            let progress = RefundProgress {
                refund_id: id,
                conversion_total_minor: result.base_minor,
                refunded_before_minor: before - result.refund_offset_minor,
                refunded_after_minor: after - result.refund_offset_minor,
            };
            entries.extend(
                refund(&accrual, position, &progress, new.occurred_at)
                    .map_err(|e| StoreError::conflict("ledger", e.to_string()))?,
            );
        }
        refund_row::Entity::insert(refund_row::ActiveModel {
            id: Set(id),
            conversion_id: Set(conversion_id),
            amount_minor: Set(amount),
            refunded_before_minor: Set(before),
            occurred_at: Set(new.occurred_at),
            ledger_version: Set(Some(ledger_version)),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::conflict(
                    "concurrent_refund",
                    "another refund of this conversion was recorded at the same time; retry",
                )
            } else {
                e.into()
            }
        })?;
        insert_all(
            &txn,
            lines
                .iter()
                .map(|(line_no, quantity, amount)| refund_line::ActiveModel {
                    refund_id: Set(id),
                    line_no: Set(*line_no),
                    quantity: Set(*quantity),
                    amount_minor: Set(*amount),
                })
                .collect(),
        )
        .await?;
        insert_entries(&txn, &entries).await?;
        txn.commit().await?;
        Ok(RefundRecord {
            id,
            conversion_id,
            amount_minor: amount,
            refunded_total_minor: after,
            occurred_at: new.occurred_at,
            lines,
        })
    }
}
