//! The `touchpoints` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "touchpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub sender_id: Uuid,
    pub event_id: String,
    pub partner_id: Uuid,
    pub offer_id: Option<Uuid>,
    pub kind: String,
    pub customer_ref: Option<String>,
    pub click_id: Option<String>,
    pub bot: bool,
    pub occurred_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
