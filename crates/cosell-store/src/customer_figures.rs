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
//!   attribution results), net of refunds as revenue is: each conversion's commission
//!   times the share of it that was kept, as the ledger reverses or claws back the refunded
//!   part in proportion; rounded to the currency's minor unit. Cosell knows no support or
//!   shipping cost: a merchant that does declares the service cost itself.

use chrono::{DateTime, Duration, Utc};
use cosell_core::{Currency, PartnerId};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
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
        // One statement, a row per conversion with its refunds and commission: on SQLite each
        // statement is a round trip to a connection's thread, and this runs on every
        // recommendation for such a customer.
        let of_this_sale =
            |column: Expr| column.equals((conversion::Entity, conversion::Column::Id));
        let per_sale = conversion::Entity::find()
            .filter(conversion::COLUMN.merchant_id.eq(merchant.0))
            .filter(conversion::COLUMN.customer_ref.eq(reference))
            .filter(conversion::COLUMN.currency.eq(currency.code()))
            .filter(conversion::COLUMN.occurred_at.gt(since))
            .filter(conversion::COLUMN.occurred_at.lte(now))
            .select_only()
            .column_as(conversion::Column::AmountMinor, SOLD)
            .expr_as(
                sum_of(
                    refund::Entity::find().filter(of_this_sale(Expr::col((
                        refund::Entity,
                        refund::Column::ConversionId,
                    )))),
                    refund::Column::AmountMinor,
                ),
                REFUNDED,
            )
            .expr_as(
                sum_of(
                    attribution_credit::Entity::find()
                        .filter(of_this_sale(Expr::col((
                            attribution_credit::Entity,
                            attribution_credit::Column::ConversionId,
                        ))))
                        .filter(attribution_credit::COLUMN.currency.eq(currency.code()))
                        .filter(current_credit()),
                    attribution_credit::Column::CommissionMinor,
                ),
                COMMISSION,
            )
            .into_query();
        let db = self.db();
        let rows = db
            .query_all_raw(db.get_database_backend().build(&per_sale))
            .await?;
        let mut figures = CustomerFigures::default();
        for row in rows {
            let minor = |name: &str| -> Result<Decimal, DbErr> {
                let value = row.try_get::<Option<i64>>("", name)?.unwrap_or(0);
                Ok(currency.from_minor(value))
            };
            let (sold, refunded, commission) = (minor(SOLD)?, minor(REFUNDED)?, minor(COMMISSION)?);
            figures.sold += sold;
            figures.refunded += refunded;
            figures.commission += if sold > Decimal::ZERO {
                commission * (sold - refunded).max(Decimal::ZERO) / sold
            } else {
                commission
            };
        }
        figures.commission = figures.commission.round_dp(currency.minor_units());
        Ok(figures)
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
