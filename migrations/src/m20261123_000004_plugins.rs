//! Plugin registrations: which native plugins an operator installed, with their pin,
//! grants and configuration, so the server loads them again at start-up.
//!
//! The library itself lives in `<data_dir>/plugins/<sha256>.so`; the row's id is that
//! SHA-256, so one file is registered at most once and an upgrade is a new row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("plugins")
                    // Lower-case hex SHA-256 of the library.
                    .col(string_len("id", 64).primary_key())
                    .col(string("name"))
                    .col(string("version"))
                    // Comma-separated capabilities the operator granted, e.g. "attribution".
                    .col(string("granted"))
                    // The configuration `init` accepted.
                    .col(json("config"))
                    .col(boolean("enabled"))
                    .col(timestamp_with_time_zone("installed_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("plugins").to_owned())
            .await
    }
}
