//! Cosell's HTTP API: an axum router with JWT auth, tenant isolation, idempotent writes,
//! RFC 9457 errors and an OpenAPI document generated from the routes themselves.

pub mod auth;
mod cache;
pub mod clock;
mod csv_text;
pub mod days;
pub mod error;
pub mod extract;
pub mod impressions;
pub mod instants;
mod middleware;
mod openapi;
pub mod plugins;
pub mod reco;
pub mod routes;
pub mod state;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::Modify as _;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use auth::jwt::JwtKeys;
pub use state::{ApiConfig, AppState};

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route with its documentation, before state and layers are applied.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::partners::router())
        .merge(routes::api_keys::router())
        .merge(routes::products::router())
        .merge(routes::relations::router())
        .merge(routes::bundles::router())
        .merge(routes::partnerships::router())
        .merge(routes::offers::router())
        .merge(routes::plugins::router())
        .merge(routes::plugin_fits::router())
        .merge(routes::plugin_directory::router())
        .merge(routes::tracking::router())
        .merge(routes::touchpoints::router())
        .merge(routes::conversions::router())
        .merge(routes::settlements::router())
        .merge(routes::metrics::router())
        .merge(routes::offer_rules::router())
        .merge(routes::customers::router())
        .merge(routes::recommendations::router())
}

/// The routes and their document, completed with what the middleware adds to every route.
fn routes_and_openapi() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut api) = api_router().split_for_parts();
    openapi::IdempotencyKeyAddon.modify(&mut api);
    (routes, api)
}

/// The OpenAPI document exactly as the server serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes_and_openapi().1
}

/// The complete application: routes, docs UI, and the middleware stack.
pub fn app(state: AppState) -> Router {
    let (routes, api) = routes_and_openapi();
    let config = state.config().clone();
    let idempotency =
        axum::middleware::from_fn_with_state(state.clone(), middleware::idempotency::idempotency);
    let catalog_writes =
        axum::middleware::from_fn_with_state(state.clone(), reco::invalidate_catalogs);
    let declared_queries = middleware::query_params::RefuseUndeclaredLayer(
        middleware::query_params::DeclaredQueries::from_openapi(&api),
    );
    routes
        // A route layer, so that an unknown route or method is a 404 or 405 before any
        // key is looked at.
        .route_layer(idempotency)
        // Outside the idempotency layer: a refused query claims no key.
        .route_layer(declared_queries)
        .layer(catalog_writes)
        // Without `validatorUrl: "none"`, Swagger UI served from any host but localhost
        // fetches a badge from validator.swagger.io: the page would break offline and send
        // the spec's address to a third party.
        .merge(
            SwaggerUi::new("/docs")
                .url("/openapi.json", api)
                .config(utoipa_swagger_ui::Config::default().validator_url("none")),
        )
        .with_state(state)
        // Innermost first: each layer wraps everything above it.
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(
            middleware::problems::problem_responses,
        ))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

/// How long a graceful shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
