//! Typed ids: a product id can never be passed where a partner id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id, so ids sort by creation and serve as cursors.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }
    )*};
}

typed_id!(
    /// An organisation on the platform.
    PartnerId,
    /// A credential a partner or operator exchanges for tokens.
    ApiKeyId,
    /// A product in one partner's catalog.
    ProductId,
    /// A typed link between two products.
    RelationId,
    /// A discounted set of products.
    BundleId,
    /// An agreement between two partners to co-sell.
    PartnershipId,
    /// A partner's product published as a complement to anchors.
    OfferId,
);
