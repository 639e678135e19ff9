//! Request middleware: idempotent writes and problem documents for errors axum writes itself.

pub mod idempotency;
pub mod problems;
