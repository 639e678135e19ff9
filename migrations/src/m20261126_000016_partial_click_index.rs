//! The click index of touchpoints holds only the touchpoints that have a click id.
//!
//! Most touchpoints name a customer and no click (impressions, referrals, and clicks a
//! partner reports without one): a bulk import of 3,000,000 of them wrote 3,000,000 index
//! entries for `NULL`. Attribution, the only reader, asks for `click_id IN (…)`, which
//! implies a click id, so SQLite and PostgreSQL use the partial index for it as they do for
//! the customer indexes (migration 000010).

use sea_orm_migration::prelude::*;

use crate::m20261126_000010_partial_customer_indexes::rebuild;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 1] =
    [("ix_touchpoints_click", "touchpoints", &["click_id"])];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite as well, so a failure cannot leave touchpoints without it.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, &INDEXES, "click_id", true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, &INDEXES, "click_id", false).await
    }
}
