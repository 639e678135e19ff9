//! A journal row can hold a transfer: two pairs that move one amount of one commission
//! from one state into another.
//!
//! A release (pending to payable) and each statement line's settlement (payable or
//! clawback to settled) are two pairs of the same commission, partners and currency with
//! opposite amounts, one after the other in their entry. They were two `journal_pairs`
//! rows; now they are one, with the state the amount left in `from_state`: row `n` with
//! `from_state` S, `state` T and amount A stands for pair `n` (S, −A) and pair `n + 1`
//! (T, A). A row without `from_state` is one pair, as before, and every stored row stays
//! as it was. A settled commission takes three rows instead of five (`docs/benchmarks.md`).
//!
//! The view `journal_lines` shows a transfer as its four lines, numbered as two separate
//! pairs would be. Going down splits every transfer back into its two pairs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000015_journal_pairs::{LINES_OF_PAIRS, execute};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The lines of each row, with the column types of the table they once were: a pair's
/// receivable and payable line at `2n` and `2n + 1`; a transfer's lines of the state it
/// leaves there, and those of the state it enters at `2n + 2` and `2n + 3`.
const LINES_OF_ROWS: &str = "SELECT entry_id, \
     2 * pair_no + CASE WHEN from_state IS NULL THEN 0 ELSE 2 END AS line_no, \
     CAST('receivable' AS VARCHAR) AS side, state, payee_id AS owner_id, \
     payer_id AS counterparty_id, currency, accrual_id, amount_minor, occurred_at \
     FROM journal_pairs \
     UNION ALL SELECT entry_id, 2 * pair_no + CASE WHEN from_state IS NULL THEN 1 ELSE 3 END, \
     CAST('payable' AS VARCHAR), state, payer_id, payee_id, currency, accrual_id, \
     -amount_minor, occurred_at FROM journal_pairs \
     UNION ALL SELECT entry_id, 2 * pair_no, CAST('receivable' AS VARCHAR), from_state, \
     payee_id, payer_id, currency, accrual_id, -amount_minor, occurred_at \
     FROM journal_pairs WHERE from_state IS NOT NULL \
     UNION ALL SELECT entry_id, 2 * pair_no + 1, CAST('payable' AS VARCHAR), from_state, \
     payer_id, payee_id, currency, accrual_id, amount_minor, occurred_at \
     FROM journal_pairs WHERE from_state IS NOT NULL";

/// Each transfer's second pair, as a row of its own after the first.
const SECOND_PAIRS: &str = "INSERT INTO journal_pairs (entry_id, pair_no, state, payer_id, \
     payee_id, currency, accrual_id, amount_minor, occurred_at) \
     SELECT entry_id, pair_no + 1, state, payer_id, payee_id, currency, accrual_id, \
     amount_minor, occurred_at FROM journal_pairs WHERE from_state IS NOT NULL";

/// Each transfer row, then, as its first pair.
const FIRST_PAIRS: &str = "UPDATE journal_pairs SET state = from_state, \
     amount_minor = -amount_minor, from_state = NULL WHERE from_state IS NOT NULL";

async fn replace_view(manager: &SchemaManager<'_>, lines: &str) -> Result<(), DbErr> {
    execute(manager, "DROP VIEW journal_lines").await?;
    execute(manager, &format!("CREATE VIEW journal_lines AS {lines}")).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite as well, so the table and its view change together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("journal_pairs")
                    .add_column(string_null("from_state"))
                    .to_owned(),
            )
            .await?;
        replace_view(manager, LINES_OF_ROWS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, SECOND_PAIRS).await?;
        execute(manager, FIRST_PAIRS).await?;
        // Before the column goes: both databases refuse to drop a column a view reads.
        replace_view(manager, LINES_OF_PAIRS).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("journal_pairs")
                    .drop_column("from_state")
                    .to_owned(),
            )
            .await
    }
}
