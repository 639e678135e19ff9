//! Settlement runs that cannot pay a commission twice, and editable tracking links.
//!
//! - `settlement_runs`: one row per completed run, numbered. A run reads the latest
//!   number before it gathers open items and writes its statements in the same
//!   transaction as the row numbered one higher; the primary key lets only one run
//!   take each number, so a run whose items another run settled in the meantime fails
//!   and starts over (see `docs/tracking.md`, "Settlement runs"). The latest row's
//!   `period_end` is the last settled period: earlier ones are closed.
//! - `uq_statement_lines_commission`: a commission is a commission line of at most one
//!   statement (a partial unique index, the same on SQLite and PostgreSQL); clawback
//!   lines may repeat, a commission can be clawed back more than once.
//! - `tracking_links.label` and `tracking_links.version`: a partner's name for a link
//!   and the version `If-Match` checks when the link is changed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("settlement_runs")
                    // Taken explicitly (latest + 1), never generated: the key is the guard.
                    .col(big_integer("seq").primary_key())
                    .col(date("period_end"))
                    .col(timestamp_with_time_zone("ran_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_statement_lines_commission")
                    .table("statement_lines")
                    .col("accrual_id")
                    .unique()
                    .and_where(Expr::col("kind").eq("commission"))
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite cannot add several in one ALTER TABLE.
        for mut column in [
            string_null("label").to_owned(),
            integer("version").default(1).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("tracking_links")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["label", "version"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("tracking_links")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("uq_statement_lines_commission")
                    .table("statement_lines")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("settlement_runs").to_owned())
            .await
    }
}
