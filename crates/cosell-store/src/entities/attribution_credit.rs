//! The `attribution_credits` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attribution_credits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub attribution_id: Uuid,
    pub conversion_id: Uuid,
    pub merchant_id: Uuid,
    pub partner_id: Uuid,
    pub currency: String,
    pub weight: String,
    pub amount_minor: i64,
    pub commission_minor: i64,
    pub period: String,
    pub accrued_at: DateTimeUtc,
    pub payable_at: DateTimeUtc,
    pub commission_rule: Option<String>,
    pub commission_rule_version: Option<String>,
    pub commission_plugin_id: Option<String>,
    pub commission_plugin_fallback: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
