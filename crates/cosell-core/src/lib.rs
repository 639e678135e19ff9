//! Cosell's domain: catalog, partnerships, offers, attribution and settlement rules.
//! No HTTP, no SQL: every type here is checked on construction and is plain data.

pub mod access;
pub mod allocation;
pub mod attribution;
pub mod catalog;
pub mod commission;
pub mod customer;
pub mod error;
pub mod ids;
pub mod ledger;
pub mod metrics;
pub mod money;
pub mod plugin;
pub mod settlement;

pub use access::Role;
pub use error::{ValidationError, ValidationErrors};
pub use ids::{ApiKeyId, BundleId, OfferId, PartnerId, PartnershipId, ProductId, RelationId};
pub use money::{Currency, MAX_AMOUNT_MAJOR, Money};
