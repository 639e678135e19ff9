//! Who is calling: the bearer token, checked against its key's and partner's standing.
//!
//! The standing (key revoked? partner suspended?) is read in one query and reused for
//! `STANDING_TTL`. Revoking a key or changing a partner's status through this server drops
//! every cached standing at once; a change made elsewhere (another instance, the CLI)
//! takes effect within `STANDING_TTL`.

pub mod jwt;
pub mod keys;

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cosell_core::catalog::PartnerStatus;
use cosell_core::{ApiKeyId, PartnerId, Role};
use cosell_store::{Store, StoreError, Tenant};

use crate::cache::FreshCache;
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

/// How long a key's standing is reused without asking the database: the longest a
/// revocation or suspension made outside this server goes unnoticed here.
pub const STANDING_TTL: Duration = Duration::from_secs(5);

/// What the database says about a token's key.
#[derive(Debug, Clone, Copy)]
enum Standing {
    Good(Caller),
    Missing,
    Revoked,
    Suspended,
}

/// Keys' standings, reused across requests for at most `STANDING_TTL`.
#[derive(Debug)]
pub struct StandingCache(FreshCache<ApiKeyId, Standing>);

impl Default for StandingCache {
    fn default() -> Self {
        StandingCache(FreshCache::new(STANDING_TTL, 100_000))
    }
}

impl StandingCache {
    /// Forgets every cached standing: call after revoking a key or changing a partner's status.
    pub fn invalidate(&self) {
        self.0.invalidate();
    }

    async fn get(&self, store: &Store, key: ApiKeyId) -> Result<Standing, StoreError> {
        self.0
            .get_or_load(key, async {
                let Some(standing) = store.api_key_standing(key).await? else {
                    return Ok(Standing::Missing);
                };
                Ok(if standing.key.revoked_at.is_some() {
                    Standing::Revoked
                } else if standing.partner_status == Some(PartnerStatus::Suspended) {
                    Standing::Suspended
                } else {
                    Standing::Good(Caller {
                        key_id: standing.key.id,
                        role: standing.key.role,
                        partner_id: standing.key.partner_id,
                    })
                })
            })
            .await
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
        let caller = match state.standings().get(state.store(), claims.sub).await? {
            Standing::Good(caller) => caller,
            Standing::Missing => {
                return Err(ApiError::unauthorized(
                    "invalid_token",
                    "the token's API key no longer exists",
                ));
            }
            Standing::Revoked => {
                return Err(ApiError::unauthorized(
                    "key_revoked",
                    "the API key this token came from has been revoked",
                ));
            }
            Standing::Suspended => {
                return Err(ApiError::unauthorized(
                    "partner_suspended",
                    "the partner is suspended",
                ));
            }
        };
        parts.extensions.insert(caller);
        Ok(caller)
    }
}
