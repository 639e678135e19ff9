//! The `clicks` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clicks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub link_id: Uuid,
    pub partner_id: Uuid,
    pub offer_id: Option<Uuid>,
    pub click_id: String,
    pub ip_hash: Option<String>,
    pub ua_hash: Option<String>,
    pub bot: bool,
    pub occurred_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
