//! Turns on the ledger (migration `m20261125_000009_ledger_guard`, which says why): a
//! refund, a re-attributed conversion and each write of settlement update the guard's one
//! row first in their transaction, so one waits for the other to commit and then reads
//! what it wrote.

use sea_orm::{ConnectionTrait, Statement};

use crate::StoreError;

/// The turn of a change to commissions a run may be paying (a refund, a re-attributed
/// conversion): waits for any settlement write or other change in progress, and returns
/// the new version, which the change records with its rows.
pub(crate) async fn change_turn<C: ConnectionTrait>(txn: &C) -> Result<i64, StoreError> {
    take(txn, "version + 1").await
}

/// A settlement write's turn: waits for any change in progress; returns the version, so
/// the run can tell which changes came after it gathered.
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
