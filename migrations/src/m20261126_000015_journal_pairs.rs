//! The journal keeps one row per pair of lines instead of one per line.
//!
//! Every posting is a pair (`ledger::pair`): a debit of the referrer's receivable and a
//! credit of the merchant's payable, same commission, state, currency and amount. The
//! payable line was a second row that said nothing the first did not, and the journal was
//! half of a settlement's rows (`docs/benchmarks.md`). A `journal_pairs` row is the
//! receivable line with the two partners named as payer and payee; the view
//! `journal_lines` shows each row as its two lines, numbered as they were stored before.
//!
//! The existing lines are checked first: each receivable line at an even number must be
//! followed by its mirror, and every line must belong to such a pair. A journal that is not
//! made of pairs is refused with the count of stray lines and nothing changes.

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000002_tracking::{journal_lines, journal_lines_accrual, keyed};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PAIRS_ACCRUAL: &str = "ix_journal_pairs_accrual";

/// Lines that are not half of a receivable line followed by its payable mirror.
const STRAY_LINES: &str = "SELECT (SELECT COUNT(*) FROM journal_lines) - 2 * COUNT(*) AS stray \
     FROM journal_lines r JOIN journal_lines p \
     ON p.entry_id = r.entry_id AND p.line_no = r.line_no + 1 \
     WHERE r.side = 'receivable' AND r.line_no % 2 = 0 AND p.side = 'payable' \
     AND p.state = r.state AND p.owner_id = r.counterparty_id \
     AND p.counterparty_id = r.owner_id AND p.currency = r.currency \
     AND p.accrual_id = r.accrual_id AND p.amount_minor = -r.amount_minor \
     AND p.occurred_at = r.occurred_at";

const LINES_TO_PAIRS: &str = "INSERT INTO journal_pairs (entry_id, pair_no, state, payer_id, \
     payee_id, currency, accrual_id, amount_minor, occurred_at) \
     SELECT entry_id, line_no / 2, state, counterparty_id, owner_id, currency, accrual_id, \
     amount_minor, occurred_at FROM journal_lines WHERE side = 'receivable'";

/// The lines of each pair: receivable, then payable, at the numbers they had, with the
/// column types of the table they were.
pub(crate) const LINES_OF_PAIRS: &str = "SELECT entry_id, 2 * pair_no AS line_no, \
     CAST('receivable' AS VARCHAR) AS side, state, payee_id AS owner_id, \
     payer_id AS counterparty_id, currency, accrual_id, amount_minor, occurred_at \
     FROM journal_pairs UNION ALL SELECT entry_id, 2 * pair_no + 1, \
     CAST('payable' AS VARCHAR), state, payer_id, payee_id, currency, accrual_id, \
     -amount_minor, occurred_at FROM journal_pairs";

fn journal_pairs() -> TableCreateStatement {
    Table::create()
        .table("journal_pairs")
        .col(uuid("entry_id"))
        .col(integer("pair_no"))
        .col(string("state"))
        .col(uuid("payer_id"))
        .col(uuid("payee_id"))
        .col(string_len("currency", 3))
        .col(uuid("accrual_id"))
        .col(big_integer("amount_minor"))
        .col(timestamp_with_time_zone("occurred_at"))
        .primary_key(Index::create().col("entry_id").col("pair_no"))
        .to_owned()
}

pub(crate) async fn execute(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

/// Refuses to go on unless every stored line is half of a pair.
async fn check_pairs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let stray: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            STRAY_LINES,
        ))
        .await?
        .map(|row| row.try_get("", "stray"))
        .transpose()?
        .unwrap_or(0);
    if stray != 0 {
        return Err(DbErr::Migration(format!(
            "journal_lines holds {stray} line(s) that are not half of a receivable line \
             followed by its payable mirror; nothing was changed"
        )));
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite as well, so a failure leaves the lines as they were.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        check_pairs(manager).await?;
        manager.create_table(journal_pairs()).await?;
        execute(manager, LINES_TO_PAIRS).await?;
        manager
            .drop_table(Table::drop().table("journal_lines").to_owned())
            .await?;
        manager
            .create_index(keyed(
                PAIRS_ACCRUAL,
                "journal_pairs",
                &["accrual_id"],
                false,
            ))
            .await?;
        execute(
            manager,
            &format!("CREATE VIEW journal_lines AS {LINES_OF_PAIRS}"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, "DROP VIEW journal_lines").await?;
        manager.create_table(journal_lines()).await?;
        execute(
            manager,
            &format!(
                "INSERT INTO journal_lines (entry_id, line_no, side, state, owner_id, \
                 counterparty_id, currency, accrual_id, amount_minor, occurred_at) \
                 {LINES_OF_PAIRS}"
            ),
        )
        .await?;
        manager.create_index(journal_lines_accrual()).await?;
        manager
            .drop_table(Table::drop().table("journal_pairs").to_owned())
            .await
    }
}
