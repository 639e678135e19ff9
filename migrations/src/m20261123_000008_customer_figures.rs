//! Customer figures Cosell computes: a merchant may leave a customer's return rate, service
//! cost and revenue out of its profile, and the recommender then derives them from the
//! customer's conversions and refunds (see `docs/recommendations.md`, "Customers").
//!
//! - `customers.*_declared`: whether the merchant gave the figure (default true: every
//!   profile stored before this migration had all three).
//! - `ix_conversions_merchant_customer`: the customer's conversions in a window, read on
//!   every recommendation for a customer with a computed figure.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DECLARED: [&str; 3] = [
    "return_rate_declared",
    "service_cost_declared",
    "revenue_declared",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite cannot add several in one ALTER TABLE.
        for column in DECLARED {
            manager
                .alter_table(
                    Table::alter()
                        .table("customers")
                        .add_column(boolean(column).default(true).to_owned())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_conversions_merchant_customer")
                    .table("conversions")
                    .col("merchant_id")
                    .col("customer_ref")
                    .col("occurred_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_conversions_merchant_customer")
                    .table("conversions")
                    .to_owned(),
            )
            .await?;
        for column in DECLARED {
            manager
                .alter_table(
                    Table::alter()
                        .table("customers")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
