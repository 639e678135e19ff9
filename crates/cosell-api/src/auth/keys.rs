//! API key secrets: generated once, shown once, kept only as argon2 hashes.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::error::ApiError;

/// Every key starts with this, so leaked keys are easy to find in logs and repositories.
const KEY_TAG: &str = "csk";

/// A new key: the full secret for the caller, its visible prefix and the hash to store.
#[derive(Debug)]
pub struct GeneratedKey {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

/// A key's name (what it is for), as `POST /v1/api-keys` and `cosell api-key create` both
/// take it: trimmed, not empty, at most 100 characters.
pub fn parse_name(name: &str) -> Result<String, cosell_core::ValidationError> {
    cosell_core::catalog::parse_text("name", name, 100)
}

/// Generates `csk_<prefix>_<secret>`: 8 hex characters that identify the key and 32 random bytes.
pub fn generate() -> Result<GeneratedKey, ApiError> {
    let mut prefix = [0u8; 4];
    let mut body = [0u8; 32];
    rand::rng().fill_bytes(&mut prefix);
    rand::rng().fill_bytes(&mut body);
    let prefix = format!("{KEY_TAG}_{}", hex::encode(prefix));
    let secret = format!("{prefix}_{}", hex::encode(body));
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| {
            tracing::error!(error = %e, "hashing an API key failed");
            ApiError::internal()
        })?
        .to_string();
    Ok(GeneratedKey {
        secret,
        prefix,
        hash,
    })
}

/// The visible prefix of a presented key, if it has the right shape.
pub fn prefix_of(secret: &str) -> Option<&str> {
    let mut parts = secret.splitn(3, '_');
    let (tag, id, rest) = (parts.next()?, parts.next()?, parts.next()?);
    (tag == KEY_TAG && id.len() == 8 && !rest.is_empty())
        .then(|| &secret[..tag.len() + 1 + id.len()])
}

/// Whether `secret` matches the stored argon2 `hash`.
pub fn verify(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_verifies_and_a_changed_one_does_not() {
        let key = generate().unwrap();
        assert_eq!(prefix_of(&key.secret), Some(key.prefix.as_str()));
        assert!(verify(&key.secret, &key.hash));
        let mut wrong = key.secret.clone();
        wrong.push('0');
        assert!(!verify(&wrong, &key.hash));
        assert!(!key.hash.contains(&key.secret));
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        assert_eq!(prefix_of("nope"), None);
        assert_eq!(prefix_of("csk_1234_abc"), None);
        assert_eq!(prefix_of("csk_12345678_"), None);
    }
}
