//! `Idempotency-Key` on writes: the same key and body replay the first successful response;
//! the same key with another body is a 409. Keys are scoped to the calling API key.
//! Applied as a route layer: an unknown route or method answers as it would without a key.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, ETAG, LOCATION};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_store::Store;
use cosell_store::idempotency::{Claim, StoredResponse};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Longest accepted key: long enough for a UUID or a client's own scheme.
const MAX_KEY_LEN: usize = 255;

/// How long past the request timeout an unfinished claim is still taken for a running
/// request. Beyond that its request is gone (the process died before it could release the
/// claim) and a retry takes the key over.
const ABANDONED_AFTER_TIMEOUT: Duration = Duration::from_secs(60);

/// An unfinished claim, released when its request ends without a stored response: on a
/// failure, and when the request future is dropped (timeout, closed connection), which is
/// why the release is spawned: `drop` cannot await.
struct PendingClaim {
    store: Store,
    principal: Uuid,
    key: String,
    completed: bool,
}

impl Drop for PendingClaim {
    fn drop(&mut self) {
        if self.completed {
            return;
        }
        let (store, principal, key) = (self.store.clone(), self.principal, self.key.clone());
        // A runtime is always present while a request runs; without one there is nothing
        // to release with, and the claim expires instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = store.release_idempotency_key(principal, &key).await {
                    tracing::warn!(%error, "could not release an unfinished Idempotency-Key");
                }
            });
        }
    }
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// A JSON body re-serialised without its whitespace (and with its object keys in one
/// order), so a retry that formats the same document differently is the same request;
/// `None` for a body that is not JSON, which is compared byte for byte.
fn canonical(body: &[u8]) -> Option<Vec<u8>> {
    let document: serde_json::Value = serde_json::from_slice(body).ok()?;
    serde_json::to_vec(&document).ok()
}

pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match run(state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(state: AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    if !is_write(request.method()) || !request.headers().contains_key(&IDEMPOTENCY_KEY) {
        return Ok(next.run(request).await);
    }
    let (mut parts, body) = request.into_parts();
    // Keys are scoped to the caller's API key. Without usable credentials there is no
    // scope: the key is ignored and the route answers as it would without it, so logging
    // in works even with a stale token attached, and a route that needs a token refuses
    // the request itself, with the same problem.
    let Ok(caller) = Caller::from_request_parts(&mut parts, &state).await else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let key = parts
        .headers
        .get(&IDEMPOTENCY_KEY)
        .and_then(|k| k.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
        })?
        .to_owned();
    let bytes = to_bytes(body, state.config().max_body_bytes)
        .await
        .map_err(|_| ApiError::payload_too_large())?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update([0]);
    hasher.update(parts.uri.to_string());
    hasher.update([0]);
    hasher.update(canonical(&bytes).as_deref().unwrap_or(&bytes));
    let hash = hex::encode(hasher.finalize());
    let principal = caller.key_id.0;
    // Saturating, and no earlier than 1970: a timeout set absurdly long (millennia) means
    // no claim is ever taken over, not an overflow panic on every write that carries a
    // key, nor a date before what PostgreSQL stores.
    let held_for = chrono::Duration::from_std(
        state
            .config()
            .request_timeout
            .saturating_add(ABANDONED_AFTER_TIMEOUT),
    )
    .unwrap_or(chrono::Duration::MAX);
    let abandoned_before = Utc::now()
        .checked_sub_signed(held_for)
        .map_or(DateTime::UNIX_EPOCH, |at| at.max(DateTime::UNIX_EPOCH));

    match state
        .store()
        .claim_idempotency_key(principal, &key, &hash, abandoned_before)
        .await?
    {
        Claim::Replay(stored) => {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let mut response = (status, stored.body).into_response();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            for (name, value) in [(ETAG, stored.etag), (LOCATION, stored.location)] {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, value);
                }
            }
            headers.insert(
                IDEMPOTENT_REPLAYED.clone(),
                HeaderValue::from_static("true"),
            );
            return Ok(response);
        }
        Claim::Mismatch => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        Claim::InFlight => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ));
        }
        Claim::Fresh => {}
    }

    let mut claim = PendingClaim {
        store: state.store().clone(),
        principal,
        key,
        completed: false,
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !response.status().is_success() {
        // Only successes are remembered, so a corrected retry may reuse the key. Released
        // here rather than by the guard, so the retry finds the key free at once.
        state
            .store()
            .release_idempotency_key(principal, &claim.key)
            .await?;
        claim.completed = true;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::internal())?;
    let header = |name| {
        let value = parts.headers.get(name)?.to_str().ok()?;
        Some(value.to_owned())
    };
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        etag: header(ETAG),
        location: header(LOCATION),
    };
    state
        .store()
        .complete_idempotency_key(principal, &claim.key, stored)
        .await?;
    claim.completed = true;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
