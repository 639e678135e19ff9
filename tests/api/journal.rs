//! The journal as stored: one row per pair of lines or per transfer of two pairs, the
//! `journal_lines` view of them, migration 000015, which turns a journal of lines into
//! pairs and back, and migration 000017, which lets a row hold a transfer.

use cosell_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TryGetableMany};

use crate::sales::{
    nets, referred_sale, refund_one_item, refund_the_rest_sell_again_and_settle, settle,
};
use crate::support::{TestApp, undo_migrations_from};

async fn execute(db: &DatabaseConnection, sql: &str) {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

/// The rows `sql` answers, each as a tuple of its columns in order.
async fn rows<T: TryGetableMany>(db: &DatabaseConnection, sql: &str) -> Vec<T> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_many_by_index().unwrap())
        .collect()
}

/// Each (side, state) account's balance in minor units, read from the `journal_lines` view
/// or table, in a fixed order.
async fn balances(db: &DatabaseConnection) -> Vec<(String, String, i64)> {
    rows(
        db,
        "SELECT side, state, CAST(SUM(amount_minor) AS BIGINT) AS total \
         FROM journal_lines GROUP BY side, state ORDER BY side, state",
    )
    .await
}

/// Every line of the `journal_lines` view or table in entry and line order: entry, line
/// number, side, state and amount.
async fn lines(db: &DatabaseConnection) -> Vec<(uuid::Uuid, i64, String, String, i64)> {
    rows(
        db,
        "SELECT entry_id, CAST(line_no AS BIGINT) AS line_no, side, state, \
         CAST(amount_minor AS BIGINT) AS amount_minor \
         FROM journal_lines ORDER BY entry_id, line_no",
    )
    .await
}

fn account(side: &str, state: &str, total: i64) -> (String, String, i64) {
    (side.to_owned(), state.to_owned(), total)
}

#[tokio::test]
async fn the_journal_goes_from_lines_to_pairs_and_transfers_and_back_to_the_cent() {
    let app = TestApp::new().await;
    let (merchant, referrer, sale) = referred_sale(&app).await;
    // Half refunded inside the hold, then settled: 10.00 accrued, 5.00 reversed, 5.00 paid.
    refund_one_item(&app, &merchant, &sale).await;
    settle(&app, 15).await;
    // Accrual, reversal, release and settlement: 1 + 1 + 2 + 2 pairs, each two lines; the
    // release and the settlement are transfers, one row each.
    assert_eq!(app.rows_in("journal_pairs").await, 4);
    assert_eq!(app.rows_in("journal_lines").await, 12);
    let settled = vec![
        account("payable", "payable", 0),
        account("payable", "pending", 0),
        account("payable", "settled", -500),
        account("receivable", "payable", 0),
        account("receivable", "pending", 0),
        account("receivable", "settled", 500),
    ];
    let db = Database::connect(&app.database_url).await.unwrap();
    assert_eq!(balances(&db).await, settled);
    let stored = lines(&db).await;
    let released = stored
        .iter()
        .filter(|(_, _, _, state, _)| state == "payable")
        .map(|(_, n, side, _, amount)| (*n, side.as_str(), *amount))
        .collect::<Vec<_>>();
    // Release then settlement: each transfer's lines numbered as two separate pairs.
    assert_eq!(
        released,
        vec![
            (2, "receivable", 500),
            (3, "payable", -500),
            (0, "receivable", -500),
            (1, "payable", 500)
        ]
    );

    // Without transfers, each is two rows again: the same lines at the same numbers.
    undo_migrations_from(&db, "m20261127_000017_journal_transfers").await;
    assert_eq!(app.rows_in("journal_pairs").await, 6);
    assert_eq!(lines(&db).await, stored);

    undo_migrations_from(&db, "m20261126_000015_journal_pairs").await;
    assert_eq!(lines(&db).await, stored);
    assert_eq!(balances(&db).await, settled);
    // A line that is not half of a pair stops the migration and changes nothing.
    execute(
        &db,
        "INSERT INTO journal_lines SELECT entry_id, 101, side, state, owner_id, counterparty_id, \
         currency, accrual_id, amount_minor, occurred_at FROM journal_lines \
         WHERE side = 'receivable' ORDER BY entry_id LIMIT 1",
    )
    .await;
    let refused = Migrator::up(&db, None).await.unwrap_err().to_string();
    assert!(
        refused.contains("journal_lines holds 1 line(s) that are not half of a receivable line"),
        "{refused}"
    );
    assert_eq!(app.rows_in("journal_lines").await, 13);
    execute(&db, "DELETE FROM journal_lines WHERE line_no = 101").await;
    Migrator::up(&db, None).await.unwrap();
    // Stored pairs stay one row each; only new postings are written as transfers.
    assert_eq!(app.rows_in("journal_pairs").await, 6);
    assert_eq!(lines(&db).await, stored);

    // The positions come back from pairs and transfers alike: the rest refunded after
    // settlement is a 5.00 clawback beside the next sale's 30.00 commission.
    let next = refund_the_rest_sell_again_and_settle(&app, &merchant, &sale).await;
    assert_eq!(nets(&next), vec![(referrer.id.clone(), "25.00".to_owned())]);
    assert_eq!(next["statements"][0]["clawback"], "-5.00");
}
