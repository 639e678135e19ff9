//! The `recommendation_impressions` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "recommendation_impressions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub customer_ref: Option<String>,
    pub subject_id: Uuid,
    pub is_bundle: bool,
    pub offer_id: Option<Uuid>,
    pub shown_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
