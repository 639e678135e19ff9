//! Idempotency records: the first response to a keyed write, replayed on retries.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::idempotency_key;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError};

/// What to do with a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key: run the request, then `complete` or `release` the claim.
    Fresh,
    /// The same request already succeeded: send this response again.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

impl Store {
    /// Claims `key` for `principal`. The primary key makes two racing claims resolve to one.
    pub async fn claim_idempotency_key(
        &self,
        principal: Uuid,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, StoreError> {
        let row = idempotency_key::ActiveModel {
            principal_id: Set(principal),
            key: Set(key.to_owned()),
            request_hash: Set(request_hash.to_owned()),
            status_code: Set(None),
            response_body: Set(None),
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
        let existing = idempotency_key::Entity::find_by_id((principal, key.to_owned()))
            .at_most_one_row(self.db())
            .await?;
        Ok(match existing {
            None => Claim::InFlight,
            Some(r) if r.request_hash != request_hash => Claim::Mismatch,
            Some(idempotency_key::Model {
                status_code: Some(status),
                response_body: Some(body),
                ..
            }) => Claim::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body,
            },
            Some(_) => Claim::InFlight,
        })
    }

    /// Stores the response of a successful keyed request.
    pub async fn complete_idempotency_key(
        &self,
        principal: Uuid,
        key: &str,
        status: u16,
        body: String,
    ) -> Result<(), StoreError> {
        let row = idempotency_key::ActiveModel {
            principal_id: Set(principal),
            key: Set(key.to_owned()),
            status_code: Set(Some(i32::from(status))),
            response_body: Set(Some(body)),
            ..Default::default()
        };
        idempotency_key::Entity::update(row).exec(self.db()).await?;
        Ok(())
    }

    /// Frees a key whose request failed, so a corrected retry may use it.
    pub async fn release_idempotency_key(
        &self,
        principal: Uuid,
        key: &str,
    ) -> Result<(), StoreError> {
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::COLUMN.principal_id.eq(principal))
            .filter(idempotency_key::COLUMN.key.eq(key))
            .exec(self.db())
            .await?;
        Ok(())
    }
}
