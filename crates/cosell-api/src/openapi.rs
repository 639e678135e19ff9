//! The OpenAPI document: metadata, the bearer scheme, and every route collected by the router.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, RefOr, Required, Type};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cosell API",
        description = "Co-selling between partner businesses: catalog, partnerships and offers. \
            Authenticate with POST /v1/auth/token and send `Authorization: Bearer <token>`. \
            Errors are RFC 9457 problem documents. Writes accept an `Idempotency-Key` header; \
            updates need `If-Match` with the resource's ETag. An update that changes nothing \
            (`{}`, or every field as it is) keeps the version: 200 with the unchanged ETag.",
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

/// Declares `Idempotency-Key` on every write the idempotency middleware keys: each POST,
/// PUT, PATCH and DELETE that takes a bearer token (without one the key is ignored). Run
/// on the document with its routes, so a new write is declared without a line of its own.
pub struct IdempotencyKeyAddon;

impl Modify for IdempotencyKeyAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let writes = [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in writes.into_iter().flatten() {
                if operation.security.is_some() {
                    let parameters = operation.parameters.get_or_insert_default();
                    parameters.push(RefOr::T(idempotency_key()));
                }
            }
        }
    }
}

fn idempotency_key() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Replays the first successful response to a retry with the same key and body \
             (1 to 255 visible ASCII characters, scoped to the API key); see docs/errors.md.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}
