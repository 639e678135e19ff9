//! The `journal_entries` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub reference: String,
    pub accrual_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
