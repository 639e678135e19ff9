//! One module per resource; each returns an `OpenApiRouter` so no route escapes the spec.

pub mod api_keys;
pub mod attribution_terms;
pub mod auth;
pub mod bundles;
pub mod conversions;
pub mod customers;
pub mod health;
pub mod metrics;
pub mod offer_rules;
pub mod offers;
pub mod partners;
pub mod partnerships;
pub mod plugin_directory;
pub mod plugin_fits;
pub mod plugins;
pub mod products;
pub mod recommendations;
pub mod relations;
pub mod settlements;
pub mod touchpoints;
pub mod tracking;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Largest page a list returns.
const MAX_PAGE: u64 = 200;

/// Cursor pagination: pass the previous page's `next_cursor` to continue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<uuid::Uuid>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

impl PageParams {
    pub fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_PAGE}, got {n}"
            ))),
        }
    }
}

/// A page of items and the cursor of the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; always sent, `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<uuid::Uuid>,
}

impl<T> Paged<T> {
    pub fn from_page<D>(page: cosell_store::Page<D>, map: impl Fn(D) -> T) -> Self {
        Paged {
            items: page.items.into_iter().map(map).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// A list of items, for collections small enough to return whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct Listed<T> {
    pub items: Vec<T>,
}
