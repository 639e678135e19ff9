//! The `journal_lines` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_no: i32,
    pub side: String,
    pub state: String,
    pub owner_id: Uuid,
    pub counterparty_id: Uuid,
    pub currency: String,
    pub accrual_id: Uuid,
    pub amount_minor: i64,
    pub occurred_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
