//! The customer indexes of impressions and touchpoints hold only rows that have a customer.
//!
//! An anonymous visitor's recommendation writes three impressions and, for a partner
//! offer, a touchpoint, none with a customer reference; every query through these indexes
//! names a customer (`customer_ref = …`, `IN (…)` or `IS NOT NULL`), so entries for the
//! rows without one were written on every answer and never read. SQLite and PostgreSQL
//! both use a partial index `WHERE customer_ref IS NOT NULL` for such queries, the
//! customer-and-impressions join included (`docs/benchmarks.md` has the plans and what
//! the write saves).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns) of each customer index.
const INDEXES: [(&str, &str, &[&str]); 2] = [
    (
        "ix_recommendation_impressions_customer",
        "recommendation_impressions",
        &["merchant_id", "customer_ref", "shown_at"],
    ),
    ("ix_touchpoints_customer", "touchpoints", &["customer_ref"]),
];

/// Replaces each `(index, table, columns)` of `indexes` with one over the rows whose
/// `column` is not null (`partial`), or over all rows.
pub(crate) async fn rebuild(
    manager: &SchemaManager<'_>,
    indexes: &[(&'static str, &'static str, &'static [&'static str])],
    column: &str,
    partial: bool,
) -> Result<(), DbErr> {
    for (name, table, columns) in indexes {
        manager
            .drop_index(Index::drop().name(*name).table(*table).to_owned())
            .await?;
        let mut index = Index::create();
        index.name(*name).table(*table);
        for column in *columns {
            index.col(*column);
        }
        if partial {
            index.and_where(Expr::col(column.to_owned()).is_not_null());
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite as well (sea-orm-migration's default there is none), so a
    /// failure cannot leave a table without its customer index.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, &INDEXES, "customer_ref", true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, &INDEXES, "customer_ref", false).await
    }
}
