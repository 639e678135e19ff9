//! The `attribution_results` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attribution_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversion_id: Uuid,
    pub model_name: String,
    pub model_version: String,
    pub base_minor: i64,
    pub refund_offset_minor: i64,
    pub explanation: String,
    pub superseded_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub plugin_id: Option<String>,
    pub plugin_fallback: Option<String>,
    /// The ledger guard's version the re-attribution that made this result took
    /// (`NULL` for a conversion's first result).
    pub ledger_version: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
