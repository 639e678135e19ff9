//! Cosell's schema, as ordered migrations that run unchanged on SQLite and PostgreSQL.
//!
//! Money is stored as BIGINT minor units plus a currency code, and rates as decimal text:
//! sea-orm reads SQLite decimals through `f64`, which would lose cents.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261123_000001_catalog;
mod m20261123_000002_tracking;
mod m20261123_000003_customers;
mod m20261123_000004_plugins;
mod m20261123_000005_plugin_hooks;
mod m20261123_000006_settlement_runs;
mod m20261123_000008_customer_figures;
mod m20261125_000009_ledger_guard;
mod m20261126_000010_partial_customer_indexes;
mod m20261126_000011_relations_per_owner;
mod m20261126_000012_idempotency_headers;
mod m20261126_000013_offers_of_ended_partnerships;
mod m20261126_000014_basket_sources;
mod m20261126_000015_journal_pairs;
mod m20261126_000016_partial_click_index;
mod m20261127_000017_journal_transfers;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_catalog::Migration),
            Box::new(m20261123_000002_tracking::Migration),
            Box::new(m20261123_000003_customers::Migration),
            Box::new(m20261123_000004_plugins::Migration),
            Box::new(m20261123_000005_plugin_hooks::Migration),
            Box::new(m20261123_000006_settlement_runs::Migration),
            Box::new(m20261123_000008_customer_figures::Migration),
            Box::new(m20261125_000009_ledger_guard::Migration),
            Box::new(m20261126_000010_partial_customer_indexes::Migration),
            Box::new(m20261126_000011_relations_per_owner::Migration),
            Box::new(m20261126_000012_idempotency_headers::Migration),
            Box::new(m20261126_000013_offers_of_ended_partnerships::Migration),
            Box::new(m20261126_000014_basket_sources::Migration),
            Box::new(m20261126_000015_journal_pairs::Migration),
            Box::new(m20261126_000016_partial_click_index::Migration),
            Box::new(m20261127_000017_journal_transfers::Migration),
        ]
    }
}
