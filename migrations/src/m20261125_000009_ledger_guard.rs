//! The ledger guard: one row that every refund and every write of settlement (releases,
//! statements) updates first in its transaction, so they take turns.
//!
//! A refund (or a re-attribution) decides from the commission's position whether it
//! reverses the commission or claws it back, and a settlement run pays what its gathered
//! positions say. Both read before they write; without a turn each, a refund could reverse
//! a commission that a run was paying at that moment (the partner is paid in full and
//! owes nothing back).
//! The guard's row lock (PostgreSQL) or write lock (SQLite) makes the second wait for the
//! first to commit and then read what it wrote.
//!
//! - `ledger_guard`: the one row (`id` 1) and `version`, which each refund and each
//!   re-attributed conversion bumps.
//! - `refunds.ledger_version`, `attribution_results.ledger_version`: the version the refund
//!   or the re-attribution that made the result took, so a run can ask which came after it
//!   gathered (`NULL` before this migration, and for a conversion's first result).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `ledger_version` on the tables whose rows record the guard version of the change that
/// wrote them.
fn versioned_columns() -> Vec<(&'static str, ColumnDef)> {
    ["refunds", "attribution_results"]
        .into_iter()
        .map(|table| (table, big_integer_null("ledger_version")))
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ledger_guard")
                    .col(integer("id").primary_key())
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("ledger_guard")
                    .columns(["id", "version"])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        crate::columns::add(manager, versioned_columns()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::drop(manager, versioned_columns()).await?;
        manager
            .drop_table(Table::drop().table("ledger_guard").to_owned())
            .await
    }
}
