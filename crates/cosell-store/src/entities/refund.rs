//! The `refunds` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversion_id: Uuid,
    pub amount_minor: i64,
    pub refunded_before_minor: i64,
    pub occurred_at: DateTimeUtc,
    /// The ledger guard's version this refund took (`NULL` before the guard existed).
    pub ledger_version: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
