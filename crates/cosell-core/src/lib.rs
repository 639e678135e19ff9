//! Cosell's domain: catalog, partnerships, offers, attribution and settlement rules.
//! No HTTP, no SQL: every type here is checked on construction and is plain data.

pub mod allocation;
pub mod attribution;
pub mod commission;
pub mod error;
pub mod ledger;
pub mod metrics;
pub mod money;
pub mod settlement;

pub use error::{ValidationError, ValidationErrors};
pub use money::{Currency, Money};
