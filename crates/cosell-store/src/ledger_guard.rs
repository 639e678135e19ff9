//! Turns on the ledger (migration `m20261125_000009_ledger_guard`, which says why): a
//! refund and each write of settlement update the guard's one row first in their
//! transaction, so one waits for the other to commit and then reads what it wrote.

use sea_orm::{ConnectionTrait, Statement};

use crate::StoreError;

/// A refund's turn: waits for any settlement write or other refund in progress, and
/// returns the new version, which the refund records.
pub(crate) async fn refund_turn<C: ConnectionTrait>(txn: &C) -> Result<i64, StoreError> {
    take(txn, "version + 1").await
}

/// A settlement write's turn: waits for any refund in progress; returns the version, so
/// the run can tell which refunds came after it gathered.
pub(crate) async fn settlement_turn<C: ConnectionTrait>(txn: &C) -> Result<i64, StoreError> {
    take(txn, "version").await
}

/// The version now, without taking a turn.
pub(crate) async fn version<C: ConnectionTrait>(db: &C) -> Result<i64, StoreError> {
    read(db, "SELECT version FROM ledger_guard WHERE id = 1").await
}

async fn take<C: ConnectionTrait>(txn: &C, next: &str) -> Result<i64, StoreError> {
    let sql = format!("UPDATE ledger_guard SET version = {next} WHERE id = 1 RETURNING version");
    read(txn, &sql).await
}

async fn read<C: ConnectionTrait>(db: &C, sql: &str) -> Result<i64, StoreError> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "ledger_guard",
            detail: "its one row is missing".to_owned(),
        })?;
    Ok(row.try_get("", "version")?)
}
