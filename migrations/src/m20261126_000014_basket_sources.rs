//! Each imported basket remembers the file it came from (the file's SHA-256), so that
//! `cosell import baskets` imports a file once: before, a second run of the same file stored
//! every basket again and doubled every co-purchase count. Baskets imported before this
//! migration have no source.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "baskets";
const INDEX: &str = "ix_baskets_source";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TABLE)
                    .add_column(ColumnDef::new("source").text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(TABLE)
                    .col("source")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(TABLE).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(TABLE).drop_column("source").to_owned())
            .await
    }
}
