//! A customer's return rate, revenue and service cost as Cosell sees them in the
//! merchant's conversions and refunds, for profiles whose merchant left them out.
//!
//! Over the customer's conversions with the merchant in the profile's currency that
//! occurred in the last `FIGURES_WINDOW_DAYS` days (other currencies are not comparable
//! and are left out):
//!
//! - sold: the sum of the conversions' amounts;
//! - refunded: the sum of the refunds of those conversions, whenever refunded;
//! - return rate = refunded / sold (0 when nothing was sold);
//! - revenue = sold − refunded;
//! - service cost = the commission credited to partners on those conversions (current
//!   attribution results). Cosell knows no support or shipping cost: a merchant that does
//!   declares the service cost itself.

use chrono::{DateTime, Duration, Utc};
use cosell_core::{Currency, PartnerId};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use crate::attribution::current_credit;
use crate::entities::{attribution_credit, conversion, refund};
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError};

/// How far back a customer's conversions count towards its computed figures.
pub const FIGURES_WINDOW_DAYS: i64 = 365;

/// A customer's sales, refunds and partner commission over the window, in one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerFigures {
    pub sold: Decimal,
    pub refunded: Decimal,
    pub commission: Decimal,
}

impl CustomerFigures {
    /// Refunded / sold, at most 1; 0 when nothing was sold.
    pub fn return_rate(&self) -> Decimal {
        if self.sold <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        (self.refunded / self.sold).min(Decimal::ONE)
    }

    /// What the customer paid and kept.
    pub fn revenue(&self) -> Decimal {
        (self.sold - self.refunded).max(Decimal::ZERO)
    }
}

impl Store {
    /// The figures of the merchant's customer `reference` in `currency` before `now`.
    pub async fn customer_figures(
        &self,
        merchant: PartnerId,
        reference: &str,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> Result<CustomerFigures, StoreError> {
        let since = now - Duration::days(FIGURES_WINDOW_DAYS);
        let bought = || {
            conversion::Entity::find()
                .filter(conversion::COLUMN.merchant_id.eq(merchant.0))
                .filter(conversion::COLUMN.customer_ref.eq(reference))
                .filter(conversion::COLUMN.currency.eq(currency.code()))
                .filter(conversion::COLUMN.occurred_at.gt(since))
                .filter(conversion::COLUMN.occurred_at.lte(now))
        };
        let ids = || -> SelectStatement {
            bought()
                .select_only()
                .column(conversion::Column::Id)
                .into_query()
        };
        let sold = self
            .total(bought(), conversion::Column::AmountMinor)
            .await?;
        let refunded = self
            .total(
                refund::Entity::find()
                    .filter(Expr::col(refund::Column::ConversionId).in_subquery(ids())),
                refund::Column::AmountMinor,
            )
            .await?;
        let commission = self
            .total(
                attribution_credit::Entity::find()
                    .filter(Expr::col(attribution_credit::Column::ConversionId).in_subquery(ids()))
                    .filter(attribution_credit::COLUMN.currency.eq(currency.code()))
                    .filter(current_credit()),
                attribution_credit::Column::CommissionMinor,
            )
            .await?;
        let amount = |minor: i64| currency.from_minor(minor);
        Ok(CustomerFigures {
            sold: amount(sold),
            refunded: amount(refunded),
            commission: amount(commission),
        })
    }

    /// The sum of `column` over the rows `query` selects (0 for none).
    async fn total<E: EntityTrait>(
        &self,
        query: Select<E>,
        column: impl ColumnTrait,
    ) -> Result<i64, StoreError> {
        let sum: Option<Option<i64>> = query
            .select_only()
            // PostgreSQL sums BIGINT as NUMERIC, which does not decode as i64.
            .column_as(Expr::col(column).sum().cast_as("BIGINT"), "total")
            .into_tuple()
            .at_most_one_row(self.db())
            .await?;
        Ok(sum.flatten().unwrap_or(0))
    }
}
