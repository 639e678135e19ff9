//! The headers an idempotent replay must repeat with the stored body: the created
//! resource's `ETag` (which the client needs for its next `If-Match`) and its `Location`.
//! Nullable: a response without one stores NULL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        ("idempotency_keys", text_null("response_etag").to_owned()),
        (
            "idempotency_keys",
            text_null("response_location").to_owned(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::add(manager, added_columns()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::drop(manager, added_columns()).await
    }
}
