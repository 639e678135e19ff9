//! Idempotency records: the first response to a keyed write, replayed on retries.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, Condition, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::idempotency_key;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError};

/// The response to a keyed request, as stored and replayed: the body with the headers a
/// client acts on (the `ETag` for its next `If-Match`, the `Location` of what was created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
    pub location: Option<String>,
}

/// What to do with a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key: run the request, then `complete` or `release` the claim.
    Fresh,
    /// The same request already succeeded: send this response again.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

impl Store {
    /// Claims `key` for `principal`. The primary key makes two racing claims resolve to one.
    ///
    /// An unfinished claim made before `abandoned_before` belongs to a request that can no
    /// longer be running (the server crashed or lost it): it is taken over, so a crash
    /// never locks a key for good.
    pub async fn claim_idempotency_key(
        &self,
        principal: Uuid,
        key: &str,
        request_hash: &str,
        abandoned_before: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let row = idempotency_key::ActiveModel {
            principal_id: Set(principal),
            key: Set(key.to_owned()),
            request_hash: Set(request_hash.to_owned()),
            status_code: Set(None),
            response_body: Set(None),
            response_etag: Set(None),
            response_location: Set(None),
            created_at: Set(Utc::now()),
        };
        match idempotency_key::Entity::insert(row).exec(self.db()).await {
            Ok(_) => return Ok(Claim::Fresh),
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) => {}
            Err(e) => return Err(e.into()),
        }
        if self
            .take_over_abandoned(principal, key, request_hash, abandoned_before)
            .await?
        {
            return Ok(Claim::Fresh);
        }
        let existing = idempotency_key::Entity::find_by_id((principal, key.to_owned()))
            .at_most_one_row(self.db())
            .await?;
        Ok(match existing {
            None => Claim::InFlight,
            Some(r) if r.request_hash != request_hash => Claim::Mismatch,
            Some(idempotency_key::Model {
                status_code: Some(status),
                response_body: Some(body),
                response_etag: etag,
                response_location: location,
                ..
            }) => Claim::Replay(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body,
                etag,
                location,
            }),
            Some(_) => Claim::InFlight,
        })
    }

    /// Re-claims `key` when its claim is unfinished and older than `abandoned_before`. One
    /// conditional update, so of two retries racing for the abandoned key only one wins.
    async fn take_over_abandoned(
        &self,
        principal: Uuid,
        key: &str,
        request_hash: &str,
        abandoned_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let taken = idempotency_key::Entity::update_many()
            .set(idempotency_key::ActiveModel {
                request_hash: Set(request_hash.to_owned()),
                created_at: Set(Utc::now()),
                ..Default::default()
            })
            .filter(unfinished(principal, key))
            .filter(idempotency_key::COLUMN.created_at.lt(abandoned_before))
            .exec(self.db())
            .await?;
        Ok(taken.rows_affected == 1)
    }

    /// Stores the response of a successful keyed request.
    pub async fn complete_idempotency_key(
        &self,
        principal: Uuid,
        key: &str,
        response: StoredResponse,
    ) -> Result<(), StoreError> {
        let row = idempotency_key::ActiveModel {
            principal_id: Set(principal),
            key: Set(key.to_owned()),
            status_code: Set(Some(i32::from(response.status))),
            response_body: Set(Some(response.body)),
            response_etag: Set(response.etag),
            response_location: Set(response.location),
            ..Default::default()
        };
        idempotency_key::Entity::update(row).exec(self.db()).await?;
        Ok(())
    }

    /// Frees a key whose request failed or was dropped, so a retry may use it. A completed
    /// claim is never released.
    pub async fn release_idempotency_key(
        &self,
        principal: Uuid,
        key: &str,
    ) -> Result<(), StoreError> {
        idempotency_key::Entity::delete_many()
            .filter(unfinished(principal, key))
            .exec(self.db())
            .await?;
        Ok(())
    }
}

/// The claim of `key` by `principal`, while its request has not completed.
fn unfinished(principal: Uuid, key: &str) -> Condition {
    Condition::all()
        .add(idempotency_key::COLUMN.principal_id.eq(principal))
        .add(idempotency_key::COLUMN.key.eq(key))
        .add(idempotency_key::COLUMN.status_code.is_null())
}
