//! The `offer_rules` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "offer_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub offer_id: Uuid,
    /// JSON array of rule texts.
    pub eligibility: String,
    /// JSON array of relationship kinds.
    pub excluded_relationships: String,
}

impl ActiveModelBehavior for ActiveModel {}
