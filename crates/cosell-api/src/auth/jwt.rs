//! Short-lived bearer tokens: HS256 JWTs with a `kid` so signing secrets can rotate.

use std::collections::HashMap;

use chrono::Utc;
use cosell_core::{ApiKeyId, PartnerId, Role};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The one algorithm tokens are signed with; every other `alg`, `none` included, is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// What a token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The API key the token was minted from.
    pub sub: ApiKeyId,
    pub role: Role,
    pub partner_id: Option<PartnerId>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: uuid::Uuid,
}

/// Signing and verification keys: one current secret signs, it and any previous ones verify.
#[derive(Clone)]
pub struct JwtKeys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    ttl_seconds: i64,
    /// Built once: every request's token is checked against it.
    validation: Validation,
    /// Tokens whose signature and claims verified, by their exact text: a client sends
    /// the same token with every request until it expires, and checking it again (two
    /// base64 and JSON decodings and an HMAC) is most of what authentication costs.
    /// Expiry is still checked on every use.
    verified: moka::sync::Cache<String, Claims>,
}

/// Verified tokens kept, and for how long at most (a token lives longer; it is then
/// verified again).
const VERIFIED_CAPACITY: u64 = 10_000;
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("current_kid", &self.current_kid)
            .finish_non_exhaustive()
    }
}

/// A key id that names a secret without revealing it.
fn kid(secret: &SecretString) -> String {
    let digest = Sha256::digest(secret.expose_secret().as_bytes());
    hex::encode(&digest[..8])
}

/// A freshly minted token.
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    pub expires_in: i64,
}

impl JwtKeys {
    /// `current` signs new tokens; tokens signed by `previous` secrets stay valid until they expire.
    pub fn new(
        current: &SecretString,
        previous: &[SecretString],
        issuer: &str,
        audience: &str,
        ttl_seconds: i64,
    ) -> Self {
        let mut decoding = HashMap::new();
        // An empty previous secret names none: as a key it would verify tokens anyone
        // can sign (`cosell serve` leaves such entries out and refuses short ones).
        let previous = previous.iter().filter(|s| !s.expose_secret().is_empty());
        for secret in std::iter::once(current).chain(previous) {
            decoding.insert(
                kid(secret),
                DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            );
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        JwtKeys {
            current_kid: kid(current),
            encoding: EncodingKey::from_secret(current.expose_secret().as_bytes()),
            decoding,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_seconds,
            validation,
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build(),
        }
    }

    pub fn mint(
        &self,
        key: ApiKeyId,
        role: Role,
        partner_id: Option<PartnerId>,
    ) -> Result<Minted, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: key,
            role,
            partner_id,
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: uuid::Uuid::new_v4(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.current_kid.clone());
        let token = encode(&header, &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            ApiError::internal()
        })?;
        Ok(Minted {
            token,
            expires_in: self.ttl_seconds,
        })
    }

    /// Verifies signature, algorithm, expiry, issuer and audience; every failure is a 401.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        if let Some(claims) = self.verified.get(token) {
            // As jsonwebtoken decides with no leeway: expired once `exp` is in the past.
            if claims.exp < Utc::now().timestamp() {
                return Err(expired());
            }
            return Ok(claims);
        }
        let claims = self.decode(token)?;
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn decode(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = |detail: &str| ApiError::unauthorized("invalid_token", detail.to_owned());
        let header =
            decode_header(token).map_err(|_| invalid("the token is not a JWT this API accepts"))?;
        if header.alg != ALGORITHM {
            return Err(invalid(
                "the token is signed with an algorithm this API does not accept",
            ));
        }
        let key = header
            .kid
            .as_ref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or_else(|| invalid("the token's signing key is unknown"))?;
        decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => expired(),
                ErrorKind::InvalidIssuer => invalid("the token was issued for another issuer"),
                ErrorKind::InvalidAudience => invalid("the token was issued for another audience"),
                ErrorKind::InvalidSignature => invalid("the token's signature does not verify"),
                _ => invalid("the token is malformed or incomplete"),
            })
    }
}

fn expired() -> ApiError {
    ApiError::unauthorized("token_expired", "the token has expired; request a new one")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str, ttl_seconds: i64) -> JwtKeys {
        JwtKeys::new(
            &SecretString::from(secret),
            &[],
            "cosell",
            "cosell-api",
            ttl_seconds,
        )
    }

    fn token(keys: &JwtKeys) -> String {
        keys.mint(ApiKeyId(uuid::Uuid::now_v7()), Role::Operator, None)
            .unwrap()
            .token
    }

    #[test]
    fn a_verified_token_is_served_from_the_cache_until_it_expires() {
        let signer = keys("a test secret", 1);
        let token = token(&signer);
        assert!(signer.verify(&token).is_ok());
        assert!(signer.verified.contains_key(&token));
        // Past `exp` the cached copy is refused as the token itself would be.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let error = signer.verify(&token).unwrap_err();
        assert_eq!(error.code, "token_expired");
    }

    #[test]
    fn an_empty_previous_secret_verifies_nothing() {
        let forger = keys("", 900);
        let forged = token(&forger);
        let server = JwtKeys::new(
            &SecretString::from("a test secret"),
            &[SecretString::from("")],
            "cosell",
            "cosell-api",
            900,
        );
        assert!(server.verify(&forged).is_err());
    }

    #[test]
    fn a_token_that_fails_is_never_cached() {
        let signer = keys("a test secret", 900);
        let token = token(&signer);
        let tampered = format!("{token}x");
        assert!(signer.verify(&tampered).is_err());
        assert!(!signer.verified.contains_key(&tampered));
        let other = keys("another secret", 900);
        assert!(other.verify(&token).is_err());
        assert!(!other.verified.contains_key(&token));
    }
}
