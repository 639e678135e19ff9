//! The `baskets` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "baskets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The basket's items, one per line.
    pub items: String,
    pub imported_at: DateTimeUtc,
    /// The SHA-256 (hex) of the file it was imported from; none before sources were kept.
    pub source: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
