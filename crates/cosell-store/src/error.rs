//! Store errors: database failures mapped once to what the caller can act on.

use cosell_core::ValidationErrors;
use sea_orm::{DbErr, SqlErr, TransactionError};

/// What went wrong in a repository call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist or belongs to another tenant; the two are indistinguishable.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A rule or uniqueness constraint refused the change; `code` is stable for clients.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller's copy is older than the stored one.
    #[error("{entity} was changed by someone else (current version {current})")]
    Stale { entity: &'static str, current: i32 },
    /// Input broke a domain rule.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The caller may not do this at all (not a question of which tenant).
    #[error("{0}")]
    Forbidden(String),
    /// Stored data could not be read back into domain types: a bug or a manual edit.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error(transparent)]
    Db(DbErr),
}

impl StoreError {
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            table,
            detail: detail.to_string(),
        }
    }

    /// Maps a unique-key violation to a conflict with `code` and `message`; other errors pass.
    pub(crate) fn on_unique(
        code: &'static str,
        message: impl Into<String>,
    ) -> impl FnOnce(DbErr) -> StoreError {
        let message = message.into();
        move |err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::conflict(code, message),
            _ => StoreError::from(err),
        }
    }
}

/// Whether `err` is a foreign-key violation. SQLite reports a violated parent delete as
/// extended code 1811, which sea-orm does not map, so its message is checked too.
fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    ) || err.to_string().contains("FOREIGN KEY constraint failed")
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if is_foreign_key_violation(&err) {
            return StoreError::conflict("still_referenced", "it is still used by another record");
        }
        StoreError::Db(err)
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(err: TransactionError<StoreError>) -> Self {
        match err {
            TransactionError::Connection(e) => e.into(),
            TransactionError::Transaction(e) => e,
        }
    }
}
