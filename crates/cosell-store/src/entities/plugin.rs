//! The `plugins` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub version: String,
    pub granted: String,
    pub config: Json,
    pub enabled: bool,
    pub installed_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
