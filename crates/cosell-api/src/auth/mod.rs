//! Who is calling: the bearer token, checked against the key and partner on every request.

pub mod jwt;
pub mod keys;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cosell_core::catalog::PartnerStatus;
use cosell_core::{ApiKeyId, PartnerId, Role};
use cosell_store::Tenant;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub key_id: ApiKeyId,
    pub role: Role,
    pub partner_id: Option<PartnerId>,
}

impl Caller {
    /// The data this caller may see.
    pub fn tenant(&self) -> Tenant {
        match (self.role, self.partner_id) {
            (Role::Partner, Some(id)) => Tenant::Partner(id),
            _ => Tenant::All,
        }
    }

    /// The caller's own partner id; operators act on the platform, not as a partner.
    pub fn partner(&self) -> Result<PartnerId, ApiError> {
        match (self.role, self.partner_id) {
            (Role::Partner, Some(id)) => Ok(id),
            _ => Err(ApiError::forbidden(
                "this action is taken by a partner, with a partner's API key",
            )),
        }
    }

    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Operator => Ok(()),
            Role::Partner => Err(ApiError::forbidden(
                "this action needs an operator's API key",
            )),
        }
    }
}

/// Reads `Authorization: Bearer <token>`; the scheme is matched case-insensitively (RFC 9110).
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::unauthorized(
            "missing_token",
            "send Authorization: Bearer <token>; get one from POST /v1/auth/token",
        )
    };
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(missing()),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(*caller);
        }
        let claims = state.jwt().verify(bearer(parts)?)?;
        // The key and its partner are re-read on every request, so revoking a key or
        // suspending a partner takes effect at once rather than when tokens expire.
        let standing = state.store().api_key_standing(claims.sub).await?;
        let standing = standing.ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the token's API key no longer exists")
        })?;
        if standing.key.revoked_at.is_some() {
            return Err(ApiError::unauthorized(
                "key_revoked",
                "the API key this token came from has been revoked",
            ));
        }
        if standing.partner_status == Some(PartnerStatus::Suspended) {
            return Err(ApiError::unauthorized(
                "partner_suspended",
                "the partner is suspended",
            ));
        }
        let caller = Caller {
            key_id: standing.key.id,
            role: standing.key.role,
            partner_id: standing.key.partner_id,
        };
        parts.extensions.insert(caller);
        Ok(caller)
    }
}
