//! The `conversion_lines` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conversion_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversion_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_no: i32,
    pub product_id: Option<Uuid>,
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

impl ActiveModelBehavior for ActiveModel {}
