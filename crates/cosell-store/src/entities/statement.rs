//! The `statements` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub period_end: Date,
    pub payer_id: Uuid,
    pub payee_id: Uuid,
    pub currency: String,
    pub commission_minor: i64,
    pub clawback_minor: i64,
    pub net_minor: i64,
    pub created_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub paid_reference: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
