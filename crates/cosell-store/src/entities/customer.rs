//! The `customers` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub reference: String,
    pub satisfaction: String,
    /// Comma-separated channel names.
    pub consents: String,
    pub preferred_channel: Option<String>,
    pub return_rate: String,
    pub currency: String,
    pub service_cost_minor: i64,
    pub revenue_minor: i64,
    /// Whether the merchant gave each figure; if not, it is computed from conversions.
    pub return_rate_declared: bool,
    pub service_cost_declared: bool,
    pub revenue_declared: bool,
    /// JSON object of attribute name to value.
    pub attributes: String,
    /// JSON array of `{partner_id, kind}`.
    pub relationships: String,
    /// JSON array of product ids.
    pub purchased: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
