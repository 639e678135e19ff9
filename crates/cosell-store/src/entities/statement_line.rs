//! The `statement_lines` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "statement_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub statement_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_no: i32,
    pub kind: String,
    pub accrual_id: Uuid,
    pub amount_minor: i64,
}

impl ActiveModelBehavior for ActiveModel {}
