//! The OpenAPI document: metadata, the bearer scheme, and every route collected by the router.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cosell API",
        description = "Co-selling between partner businesses: catalog, partnerships and offers. \
            Authenticate with POST /v1/auth/token and send `Authorization: Bearer <token>`. \
            Errors are RFC 9457 problem documents. Writes accept an `Idempotency-Key` header; \
            updates need `If-Match` with the resource's ETag.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecurityAddon),
    components(schemas(crate::error::Problem, crate::error::FieldError))
)]
pub struct ApiDoc;

/// Adds the bearer scheme. `get_or_insert_default` makes sure it is never silently dropped.
struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_default();
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
