//! Relations between products of one partner's catalog.

use chrono::Utc;
use cosell_core::catalog::relation::NewRelation;
use cosell_core::catalog::{Relation, RelationKind};
use cosell_core::{PartnerId, ProductId, RelationId};
use sea_orm::{ActiveValue::Set, Condition, EntityTrait, QueryFilter, QueryOrder};

use crate::entities::product_relation;
use crate::money::decimal;
use crate::products::find_product;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError, Tenant};

const TABLE: &str = "product_relations";

fn to_domain(m: product_relation::Model) -> Result<Relation, StoreError> {
    Ok(Relation {
        id: RelationId(m.id),
        partner_id: PartnerId(m.partner_id),
        kind: RelationKind::parse(&m.kind).ok_or_else(|| StoreError::corrupt(TABLE, &m.kind))?,
        from_product_id: ProductId(m.from_product_id),
        to_product_id: ProductId(m.to_product_id),
        weight: decimal(TABLE, &m.weight)?,
        created_at: m.created_at,
    })
}

impl Store {
    /// Relates two products, at least one the caller's own and the other its own or an
    /// active partner's (so a merchant can mark a partner's product as competing with its own).
    pub async fn create_relation(
        &self,
        owner: PartnerId,
        new: NewRelation,
    ) -> Result<Relation, StoreError> {
        let from = find_product(self.db(), Tenant::All, new.from_product_id).await?;
        let to = find_product(self.db(), Tenant::All, new.to_product_id).await?;
        let (own, other) = match (from.partner_id == owner, to.partner_id == owner) {
            (true, _) => (&from, &to),
            (false, true) => (&to, &from),
            (false, false) => return Err(StoreError::NotFound("product")),
        };
        if other.partner_id != own.partner_id
            && !self.partnership_active(owner, other.partner_id).await?
        {
            return Err(StoreError::NotFound("product"));
        }
        let row = product_relation::ActiveModel {
            id: Set(RelationId::new().0),
            partner_id: Set(owner.0),
            kind: Set(new.kind.as_str().to_owned()),
            from_product_id: Set(new.from_product_id.0),
            to_product_id: Set(new.to_product_id.0),
            weight: Set(new.weight.to_string()),
            created_at: Set(Utc::now()),
        };
        let model = product_relation::Entity::insert(row)
            .exec_with_returning(self.db())
            .await
            .map_err(StoreError::on_unique(
                "relation_exists",
                format!(
                    "a {} relation between these products already exists",
                    new.kind.as_str()
                ),
            ))?;
        to_domain(model)
    }

    /// Every relation touching `product`, in either direction, that `tenant` owns. Another
    /// tenant's product on which the caller owns no relation is reported as missing.
    pub async fn relations_of(
        &self,
        tenant: Tenant,
        product: ProductId,
    ) -> Result<Vec<Relation>, StoreError> {
        let found = find_product(self.db(), Tenant::All, product).await?;
        let mut query = product_relation::Entity::find()
            .filter(
                Condition::any()
                    .add(product_relation::COLUMN.from_product_id.eq(product.0))
                    .add(product_relation::COLUMN.to_product_id.eq(product.0)),
            )
            .order_by_asc(product_relation::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(product_relation::COLUMN.partner_id.eq(own.0));
        }
        let relations = query
            .all(self.db())
            .await?
            .into_iter()
            .map(to_domain)
            .collect::<Result<Vec<_>, _>>()?;
        if relations.is_empty() && !tenant.sees(found.partner_id) {
            return Err(StoreError::NotFound("product"));
        }
        Ok(relations)
    }

    /// Whether `a` and `b` are marked as competing (stored once for both directions).
    pub async fn compete(&self, a: ProductId, b: ProductId) -> Result<bool, StoreError> {
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        let found = product_relation::Entity::find()
            .filter(
                product_relation::COLUMN
                    .kind
                    .eq(RelationKind::Competing.as_str()),
            )
            .filter(product_relation::COLUMN.from_product_id.eq(low.0))
            .filter(product_relation::COLUMN.to_product_id.eq(high.0))
            .one(self.db())
            .await?;
        Ok(found.is_some())
    }

    pub async fn delete_relation(&self, tenant: Tenant, id: RelationId) -> Result<(), StoreError> {
        let row = product_relation::Entity::find_by_id(id.0)
            .at_most_one_row(self.db())
            .await?;
        match row {
            Some(r) if tenant.sees(PartnerId(r.partner_id)) => {
                product_relation::Entity::delete_by_id(id.0)
                    .exec(self.db())
                    .await?;
                Ok(())
            }
            _ => Err(StoreError::NotFound("relation")),
        }
    }
}
