//! Request middleware: idempotent writes, undeclared query parameters refused, and problem
//! documents for errors axum writes itself.

pub mod idempotency;
pub mod problems;
pub mod query_params;
