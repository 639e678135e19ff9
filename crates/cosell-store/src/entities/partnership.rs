//! The `partnerships` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "partnerships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub inviter_id: Uuid,
    pub invitee_id: Uuid,
    pub status: String,
    pub commission_percent: Option<String>,
    pub commission_flat_minor: Option<i64>,
    pub currency: String,
    pub attribution_window_days: i32,
    pub hold_days: i32,
    pub category_rates: Option<String>,
    pub tiers: Option<String>,
    pub cap_minor: Option<i64>,
    pub attribution_model: Option<String>,
    pub impression_policy: Option<String>,
    pub attribution_plugin: Option<String>,
    pub commission_plugin: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
