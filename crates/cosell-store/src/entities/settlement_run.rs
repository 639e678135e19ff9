//! The `settlement_runs` table: one numbered row per completed settlement run.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "settlement_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub period_end: Date,
    pub ran_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
