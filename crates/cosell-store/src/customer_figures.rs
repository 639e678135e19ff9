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
//!   attribution results), gross of refunds: the commission on the whole sale, although
//!   the ledger reverses or claws back the refunded part. Cosell knows no support or
//!   shipping cost: a merchant that does declares the service cost itself.

use chrono::{DateTime, Duration, Utc};
use cosell_core::{Currency, PartnerId};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QuerySelect,
    QueryTrait, Select,
};

use crate::attribution::current_credit;
use crate::entities::{attribution_credit, conversion, refund};
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
        // One statement for the three sums: on SQLite each statement is a round trip to a
        // connection's thread, and this runs on every recommendation for such a customer.
        let mut totals = Query::select();
        totals
            .expr_as(sum_of(bought(), conversion::Column::AmountMinor), SOLD)
            .expr_as(
                sum_of(
                    refund::Entity::find()
                        .filter(Expr::col(refund::Column::ConversionId).in_subquery(ids())),
                    refund::Column::AmountMinor,
                ),
                REFUNDED,
            )
            .expr_as(
                sum_of(
                    attribution_credit::Entity::find()
                        .filter(
                            Expr::col(attribution_credit::Column::ConversionId).in_subquery(ids()),
                        )
                        .filter(attribution_credit::COLUMN.currency.eq(currency.code()))
                        .filter(current_credit()),
                    attribution_credit::Column::CommissionMinor,
                ),
                COMMISSION,
            );
        let db = self.db();
        // A SELECT without FROM has exactly one row.
        let row = db
            .query_one_raw(db.get_database_backend().build(&totals))
            .await?
            .ok_or_else(|| {
                StoreError::Db(DbErr::Custom("the customer's sums came back empty".into()))
            })?;
        let total = |name: &str| -> Result<i64, DbErr> {
            Ok(row.try_get::<Option<i64>>("", name)?.unwrap_or(0))
        };
        let (sold, refunded, commission) = (total(SOLD)?, total(REFUNDED)?, total(COMMISSION)?);
        let amount = |minor: i64| currency.from_minor(minor);
        Ok(CustomerFigures {
            sold: amount(sold),
            refunded: amount(refunded),
            commission: amount(commission),
        })
    }
}

const SOLD: &str = "sold";
const REFUNDED: &str = "refunded";
const COMMISSION: &str = "commission";

/// The sum of `column` over the rows `query` selects, as a scalar subquery (NULL for none).
fn sum_of<E: EntityTrait>(query: Select<E>, column: impl ColumnTrait) -> Expr {
    query
        .select_only()
        // PostgreSQL sums BIGINT as NUMERIC, which does not decode as i64.
        .column_as(Expr::col(column).sum().cast_as("BIGINT"), "total")
        .into_query()
        .into()
}
