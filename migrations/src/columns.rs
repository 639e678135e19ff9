//! Columns added to existing tables, shared by the migrations that add them.

use sea_orm_migration::prelude::*;

/// Adds `(table, column)` pairs, one column per statement: SQLite cannot add several
/// in one ALTER TABLE.
pub(crate) async fn add(
    manager: &SchemaManager<'_>,
    columns: Vec<(&'static str, ColumnDef)>,
) -> Result<(), DbErr> {
    for (table, mut column) in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops `(table, column)` pairs, as `down` of a migration that added them.
pub(crate) async fn drop(
    manager: &SchemaManager<'_>,
    columns: Vec<(&'static str, ColumnDef)>,
) -> Result<(), DbErr> {
    for (table, column) in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table)
                    .drop_column(column.get_column_name())
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
