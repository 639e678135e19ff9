//! Recommendations in the server: answering a request from the stored catalog, customer
//! profile and the current co-purchase model, and rebuilding that model off the request
//! path. The rules themselves live in `cosell-reco`; this module only gathers its inputs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request as HttpRequest, State};
use axum::middleware::Next;
use axum::response::Response;

use chrono::Utc;
use cosell_core::customer::check_customer_ref;
use cosell_core::{PartnerId, ProductId, ValidationError, ValidationErrors};
use cosell_reco::{
    Anchor, Channel, CoPurchaseModel, MAX_LIMIT, MinSupport, ModelBuilder, ModelHolder, Moment,
    Outcome, Request, recommend,
};
use cosell_store::customers::{ShownImpression, ShownOffer};
use cosell_store::reco_catalog::MerchantCatalog;
use cosell_store::{Store, StoreError};
use tokio::time::MissedTickBehavior;

use crate::cache::FreshCache;
use crate::state::AppState;

/// Why the co-purchase model could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mining the model stopped: {0}")]
    Mining(#[from] tokio::task::JoinError),
}

/// Mines a fresh model from every stored basket and every recorded conversion (its lines
/// are one basket). The mining itself runs on the blocking pool, so a rebuild never holds
/// up the workers that answer requests.
pub async fn rebuild_model(
    store: &Store,
    min_support: MinSupport,
) -> Result<CoPurchaseModel, RebuildError> {
    let mut builder = ModelBuilder::new();
    store.load_baskets(&mut builder).await?;
    store.load_conversion_baskets(&mut builder).await?;
    Ok(tokio::task::spawn_blocking(move || builder.snapshot(min_support)).await?)
}

/// Rebuilds the model now and then every `every`, swapping each result into `holder`
/// whole. A tick with no new basket or conversion since the last rebuild is skipped (both
/// are only ever added). A failed rebuild keeps the current model and is logged.
pub fn spawn_model_rebuilds(
    store: Store,
    holder: Arc<ModelHolder>,
    every: Duration,
    min_support: MinSupport,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut mined: Option<(u64, u64)> = None;
        loop {
            tick.tick().await;
            let count = match (store.basket_count().await, store.conversion_count().await) {
                (Ok(baskets), Ok(conversions)) => (baskets, conversions),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "cannot count baskets; keeping the current model");
                    continue;
                }
            };
            if mined == Some(count) {
                continue;
            }
            match rebuild_model(&store, min_support).await {
                Ok(model) => {
                    tracing::info!(
                        baskets = model.basket_count(),
                        pairs = model.frequent_pairs().len(),
                        "co-purchase model rebuilt"
                    );
                    holder.store(model);
                    mined = Some(count);
                }
                Err(error) => {
                    tracing::warn!(%error, "model rebuild failed; keeping the current model")
                }
            }
        }
    })
}

/// How long a cached catalog may serve without a write seen by this process: the bound
/// on staleness when another server instance changed the catalog.
const CATALOG_TTL: Duration = Duration::from_secs(10);

/// Paths whose successful writes can change some merchant's recommendation catalog.
const CATALOG_PATHS: [&str; 6] = [
    "/v1/products",
    "/v1/relations",
    "/v1/bundles",
    "/v1/offers",
    "/v1/partnerships",
    "/v1/partners",
];

/// Merchants' recommendation catalogs, reused across requests. Loading one is a handful
/// of queries and a row per product, far more than the rest of a request; any catalog
/// write through this server drops them all, and `CATALOG_TTL` bounds what another
/// instance's writes can leave stale.
#[derive(Debug)]
pub struct CatalogCache(FreshCache<PartnerId, Arc<MerchantCatalog>>);

impl Default for CatalogCache {
    fn default() -> Self {
        CatalogCache(FreshCache::new(CATALOG_TTL, 10_000))
    }
}

impl CatalogCache {
    /// Forgets every cached catalog.
    pub fn invalidate(&self) {
        self.0.invalidate();
    }

    /// The merchant's catalog, loaded from `store` unless a fresh copy is cached.
    pub async fn get(
        &self,
        store: &Store,
        merchant: PartnerId,
    ) -> Result<Arc<MerchantCatalog>, StoreError> {
        self.0
            .get_or_load(merchant, async {
                Ok(Arc::new(store.recommendation_catalog(merchant).await?))
            })
            .await
    }
}

/// Middleware: after a successful write to a catalog resource, drops cached catalogs.
pub async fn invalidate_catalogs(
    State(state): State<AppState>,
    request: HttpRequest,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let writes_catalog =
        !request.method().is_safe() && CATALOG_PATHS.iter().any(|p| path.starts_with(p));
    let response = next.run(request).await;
    if writes_catalog && response.status().is_success() {
        state.catalogs().invalidate();
    }
    response
}

/// One recommendation request, as the API received it.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub merchant: PartnerId,
    pub customer_ref: Option<&'a str>,
    pub anchors: &'a [ProductId],
    pub moment: Moment,
    pub channel: Channel,
    pub limit: Option<usize>,
}

impl Ask<'_> {
    fn check(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.anchors.is_empty() {
            errors.push("anchor_product_ids", "give at least one anchor product");
        }
        if self.anchors.len() > 100 {
            errors.push("anchor_product_ids", "at most 100 anchor products");
        }
        if let Some(limit) = self.limit
            && !(1..=MAX_LIMIT).contains(&limit)
        {
            errors.push("limit", format!("must be between 1 and {MAX_LIMIT}"));
        }
        if let Some(r) = self.customer_ref {
            errors.take(check_customer_ref("customer_ref", r));
        }
        errors.into_result()
    }
}

/// The answer and what it needs to be shown: the catalog it came from and one
/// impression id per item (the reference that attributes a later sale to it).
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    pub catalog: Arc<MerchantCatalog>,
    pub impressions: Vec<uuid::Uuid>,
}

/// Answers `ask` and records the impressions of what it shows (written in the background,
/// counted by the contact cap from the next request on).
pub async fn answer(state: &AppState, ask: Ask<'_>) -> Result<Answer, crate::error::ApiError> {
    ask.check()?;
    let store = state.store();
    let now = Utc::now();
    let catalog = state.catalogs().get(store, ask.merchant).await?;
    // A product twice in the cart is one anchor: its evidence counts once.
    let mut seen = HashSet::new();
    let products = ask
        .anchors
        .iter()
        .filter(|id| seen.insert(**id))
        .map(|id| {
            catalog.catalog.product(*id).ok_or_else(|| {
                ValidationErrors::from(ValidationError::new(
                    "anchor_product_ids",
                    format!("{} is not a product of this merchant's catalog", id.0),
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // `check` made sure there is a first anchor; the answer is priced in its currency.
    let currency = products[0].price.currency;
    if products.iter().any(|p| p.price.currency != currency) {
        return Err(ValidationErrors::from(ValidationError::new(
            "anchor_product_ids",
            "the anchors are priced in more than one currency; ask for one cart at a time",
        ))
        .into());
    }
    let anchors: Vec<Anchor> = products.iter().copied().map(Anchor::from).collect();
    // Reading what the customer was shown and recording what this answer shows happen
    // under the customer's lock, so a burst of requests cannot exceed the contact cap.
    let (customer, _customer_lock) = match ask.customer_ref {
        Some(r) => {
            let lock = state.impressions().lock_customer(ask.merchant, r).await;
            let unflushed = state.impressions().unflushed(ask.merchant, r);
            let profile = store
                .customer_profile(ask.merchant, r, currency, now, &unflushed)
                .await?;
            (Some(profile), Some(lock))
        }
        None => (None, None),
    };
    let request = Request {
        merchant: ask.merchant,
        anchors: &anchors,
        customer: customer.as_ref(),
        moment: ask.moment,
        channel: ask.channel,
        limit: ask.limit,
        currency,
        now,
    };
    let model = state.model().load();
    let outcome = recommend(
        &catalog.catalog,
        &model,
        &request,
        &state.config().recommender,
    );
    let shown: Vec<ShownImpression> = match &outcome {
        Outcome::Items(items) => items
            .iter()
            .map(|r| ShownImpression {
                id: uuid::Uuid::now_v7(),
                merchant: ask.merchant,
                customer_ref: ask.customer_ref.map(str::to_owned),
                subject: r.subject,
                offer: r.offer.map(|id| ShownOffer {
                    id,
                    partner: r.partner,
                }),
                shown_at: now,
            })
            .collect(),
        Outcome::Suppressed(_) => Vec::new(),
    };
    let impressions = shown.iter().map(|i| i.id).collect();
    let stored = shown
        .into_iter()
        .filter(ShownImpression::is_stored)
        .collect();
    state.impressions().record(stored).await?;
    Ok(Answer {
        outcome,
        catalog,
        impressions,
    })
}
