//! The `tracking_links` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tracking_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub partner_id: Uuid,
    pub merchant_id: Uuid,
    pub offer_id: Option<Uuid>,
    pub destination: String,
    pub created_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
    /// The partner's own name for the link.
    pub label: Option<String>,
    /// Bumped by every change; `If-Match` checks it.
    pub version: i32,
}

impl ActiveModelBehavior for ActiveModel {}
