//! sea-orm entities, one file per table. Never exposed outside the store.

pub mod api_key;
pub mod basket;
pub mod bundle;
pub mod bundle_item;
pub mod customer;
pub mod idempotency_key;
pub mod offer;
pub mod offer_anchor;
pub mod offer_rule;
pub mod partner;
pub mod partnership;
pub mod product;
pub mod product_relation;
pub mod recommendation_impression;
