//! Exchanging an API key for a short-lived bearer token.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::keys;
use crate::error::{ApiError, Problem};
use crate::extract::AppJson;
use crate::state::AppState;
use cosell_core::catalog::PartnerStatus;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The full API key, as shown once when it was created.
    pub api_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token))
}

/// Exchange an API key for a bearer token (JWT).
#[utoipa::path(post, path = "/v1/auth/token", operation_id = "create_token", tag = "auth",
    request_body = TokenRequest,
    responses((status = 200, body = TokenResponse),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_token(
    State(state): State<AppState>,
    AppJson(body): AppJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let invalid = || ApiError::unauthorized("invalid_api_key", "the API key is not valid");
    let prefix = keys::prefix_of(&body.api_key).ok_or_else(invalid)?;
    let standing = state
        .store()
        .api_key_by_prefix(prefix)
        .await?
        .ok_or_else(invalid)?;
    let hash = standing.secret_hash.clone();
    let secret = body.api_key.clone();
    // argon2 is deliberately slow: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || keys::verify(&secret, &hash))
        .await
        .unwrap_or(false);
    if !matches {
        return Err(invalid());
    }
    if standing.key.revoked_at.is_some() {
        return Err(ApiError::unauthorized(
            "key_revoked",
            "the API key has been revoked",
        ));
    }
    if standing.partner_status == Some(PartnerStatus::Suspended) {
        return Err(ApiError::unauthorized(
            "partner_suspended",
            "the partner is suspended",
        ));
    }
    let minted = state
        .jwt()
        .mint(standing.key.id, standing.key.role, standing.key.partner_id)?;
    Ok(Json(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
    }))
}
