//! API keys: long-lived credentials stored only as argon2 hashes, exchanged for short tokens.

use chrono::{DateTime, Utc};
use cosell_core::catalog::PartnerStatus;
use cosell_core::{ApiKeyId, PartnerId, Role};
use sea_orm::{
    ActiveValue::Set, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef,
};

use crate::entities::{api_key, partner};
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError, Tenant};

const TABLE: &str = "api_keys";

/// An API key's public record; the secret is never stored or returned after creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub partner_id: Option<PartnerId>,
    pub role: Role,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key to create: its owner, visible prefix and the argon2 hash of the whole secret.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub partner_id: Option<PartnerId>,
    pub role: Role,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
}

/// What authentication needs to know about a key on every request.
#[derive(Debug, Clone)]
pub struct KeyStanding {
    pub key: ApiKey,
    pub secret_hash: String,
    /// The owning partner's status; `None` for operator keys.
    pub partner_status: Option<PartnerStatus>,
}

fn to_domain(m: api_key::Model) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: ApiKeyId(m.id),
        partner_id: m.partner_id.map(PartnerId),
        role: Role::parse(&m.role).ok_or_else(|| StoreError::corrupt(TABLE, &m.role))?,
        name: m.name,
        prefix: m.prefix,
        created_at: m.created_at,
        revoked_at: m.revoked_at,
    })
}

impl Store {
    pub async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, StoreError> {
        if let Some(partner) = new.partner_id {
            self.get_partner(Tenant::All, partner).await?;
        }
        let row = api_key::ActiveModel {
            id: Set(ApiKeyId::new().0),
            partner_id: Set(new.partner_id.map(|p| p.0)),
            role: Set(new.role.as_str().to_owned()),
            name: Set(new.name),
            prefix: Set(new.prefix),
            secret_hash: Set(new.secret_hash),
            created_at: Set(Utc::now()),
            revoked_at: Set(None),
        };
        to_domain(
            api_key::Entity::insert(row)
                .exec_with_returning(self.db())
                .await?,
        )
    }

    /// Keys visible to `tenant`, optionally only one partner's, oldest first.
    pub async fn list_api_keys(
        &self,
        tenant: Tenant,
        partner: Option<PartnerId>,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut query = api_key::Entity::find().order_by_asc(api_key::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(api_key::COLUMN.partner_id.eq(own.0));
        }
        if let Some(partner) = partner {
            query = query.filter(api_key::COLUMN.partner_id.eq(partner.0));
        }
        query
            .all(self.db())
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Revokes a key; tokens minted from it stop working on their next request.
    pub async fn revoke_api_key(&self, tenant: Tenant, id: ApiKeyId) -> Result<ApiKey, StoreError> {
        let row = api_key::Entity::find_by_id(id.0)
            .at_most_one_row(self.db())
            .await?
            .ok_or(StoreError::NotFound("api key"))?;
        let key = to_domain(row)?;
        let visible = match tenant {
            Tenant::All => true,
            Tenant::Partner(own) => key.partner_id == Some(own),
        };
        if !visible {
            return Err(StoreError::NotFound("api key"));
        }
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        let update = api_key::ActiveModel {
            id: Set(id.0),
            revoked_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        to_domain(api_key::Entity::update(update).exec(self.db()).await?)
    }

    /// A key with its partner's status, in one query (a left join: operator keys have no
    /// partner). Authentication asks this on every request it has not cached.
    async fn standing(
        &self,
        condition: impl sea_orm::sea_query::IntoCondition,
    ) -> Result<Option<KeyStanding>, StoreError> {
        let owner: RelationDef = api_key::Entity::belongs_to(partner::Entity)
            .from(api_key::Column::PartnerId)
            .to(partner::Column::Id)
            .into();
        let Some((row, partner)) = api_key::Entity::find()
            .filter(condition)
            .join(JoinType::LeftJoin, owner)
            .select_also(partner::Entity)
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let partner_status = match (row.partner_id, partner) {
            (None, _) => None,
            (Some(_), Some(p)) => Some(
                PartnerStatus::parse(&p.status)
                    .ok_or_else(|| StoreError::corrupt("partners", p.status))?,
            ),
            // The foreign key forbids this; a key without its partner is no good.
            (Some(id), None) => return Err(StoreError::corrupt(TABLE, id)),
        };
        let secret_hash = row.secret_hash.clone();
        Ok(Some(KeyStanding {
            key: to_domain(row)?,
            secret_hash,
            partner_status,
        }))
    }

    /// The key with this visible prefix, to verify a presented secret against.
    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<KeyStanding>, StoreError> {
        self.standing(api_key::COLUMN.prefix.eq(prefix)).await
    }

    /// The key a token was minted from, to check it is still good on each request.
    pub async fn api_key_standing(&self, id: ApiKeyId) -> Result<Option<KeyStanding>, StoreError> {
        self.standing(api_key::COLUMN.id.eq(id.0)).await
    }
}
