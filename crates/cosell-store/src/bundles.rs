//! Bundles: discounted sets of a partner's products, priced and margin-checked on every write.

use std::collections::BTreeMap;

use chrono::Utc;
use cosell_core::catalog::bundle::BundlePricing;
use cosell_core::catalog::{Bundle, BundleItem, BundleTerms, MarginInputs};
use cosell_core::{BundleId, PartnerId, ProductId};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::entities::{bundle, bundle_item, product};
use crate::expected::unchanged;
use crate::money::{currency, decimal, to_minor};
use crate::products::find_product;
use crate::single_row::AtMostOneRow;
use crate::{Expected, Store, StoreError, Tenant};

const TABLE: &str = "bundles";

/// Most ids one `IN (…)` list carries, well under SQLite's and PostgreSQL's bind limits.
const IN_LIST_CHUNK: usize = 500;

fn to_domain(m: bundle::Model, product_ids: Vec<ProductId>) -> Result<Bundle, StoreError> {
    let currency = currency(TABLE, &m.currency)?;
    Ok(Bundle {
        id: BundleId(m.id),
        partner_id: PartnerId(m.partner_id),
        terms: BundleTerms {
            name: m.name,
            currency,
            discount_percent: decimal(TABLE, &m.discount_percent)?,
            margin_floor: currency.from_minor(m.margin_floor_minor),
        },
        product_ids,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Bundles with their members: one query for all items, however many bundles.
async fn with_items<C: ConnectionTrait>(
    db: &C,
    rows: Vec<bundle::Model>,
) -> Result<Vec<Bundle>, StoreError> {
    let mut members: BTreeMap<uuid::Uuid, Vec<ProductId>> = BTreeMap::new();
    if !rows.is_empty() {
        let found = bundle_item::Entity::find()
            .filter(
                bundle_item::COLUMN
                    .bundle_id
                    .is_in(rows.iter().map(|m| m.id)),
            )
            .order_by_asc(bundle_item::COLUMN.product_id)
            .all(db)
            .await?;
        for item in found {
            members
                .entry(item.bundle_id)
                .or_default()
                .push(ProductId(item.product_id));
        }
    }
    rows.into_iter()
        .map(|m| {
            let own = members.remove(&m.id).unwrap_or_default();
            to_domain(m, own)
        })
        .collect()
}

async fn load<C: ConnectionTrait>(
    db: &C,
    tenant: Tenant,
    id: BundleId,
) -> Result<Bundle, StoreError> {
    let m = bundle::Entity::find_by_id(id.0)
        .at_most_one_row(db)
        .await?
        .ok_or(StoreError::NotFound("bundle"))?;
    if !tenant.sees(PartnerId(m.partner_id)) {
        return Err(StoreError::NotFound("bundle"));
    }
    let mut one = with_items(db, vec![m]).await?;
    one.pop().ok_or(StoreError::NotFound("bundle"))
}

impl Store {
    /// Prices `product_ids` under `terms`: every product must be the owner's own. A margin
    /// under the floor is reported on the fields `set` names.
    async fn price_bundle(
        &self,
        owner: PartnerId,
        terms: &BundleTerms,
        product_ids: &[ProductId],
        set: MarginInputs,
    ) -> Result<BundlePricing, StoreError> {
        let mut items = Vec::with_capacity(product_ids.len());
        for id in product_ids {
            let p = find_product(self.db(), Tenant::Partner(owner), *id).await?;
            items.push(BundleItem {
                product_id: p.id,
                currency: p.fields.currency,
                price: p.fields.price,
                unit_cost: p.fields.unit_cost,
            });
        }
        Ok(terms.price(&items, set)?)
    }

    /// The stored bundle priced with its members' current prices; `None` when it no longer
    /// prices (a member gone, or now under its margin floor).
    async fn current_pricing(&self, bundle: &Bundle) -> Option<BundlePricing> {
        self.price_bundle(
            bundle.partner_id,
            &bundle.terms,
            &bundle.product_ids,
            MarginInputs::default(),
        )
        .await
        .ok()
    }

    async fn write_bundle(
        &self,
        owner: PartnerId,
        id: BundleId,
        terms: &BundleTerms,
        product_ids: &[ProductId],
        version: i32,
    ) -> Result<Bundle, StoreError> {
        let now = Utc::now();
        let row = bundle::ActiveModel {
            id: Set(id.0),
            partner_id: Set(owner.0),
            name: Set(terms.name.clone()),
            currency: Set(terms.currency.code().to_owned()),
            discount_percent: Set(terms.discount_percent.to_string()),
            margin_floor_minor: Set(to_minor(TABLE, terms.currency, terms.margin_floor)?),
            version: Set(version),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.db().begin().await?;
        if version == 1 {
            bundle::Entity::insert(row).exec(&txn).await?;
        } else {
            let mut row = row;
            row.created_at = sea_orm::ActiveValue::NotSet;
            let result = bundle::Entity::update_many()
                .set(row)
                .filter(bundle::COLUMN.id.eq(id.0))
                .filter(bundle::COLUMN.version.eq(version - 1))
                .exec(&txn)
                .await?;
            if result.rows_affected == 0 {
                let current = load(&txn, Tenant::All, id).await?;
                return Err(StoreError::Stale {
                    entity: "bundle",
                    current: current.version,
                });
            }
            bundle_item::Entity::delete_many()
                .filter(bundle_item::COLUMN.bundle_id.eq(id.0))
                .exec(&txn)
                .await?;
        }
        let items = product_ids.iter().map(|p| bundle_item::ActiveModel {
            bundle_id: Set(id.0),
            product_id: Set(p.0),
        });
        bundle_item::Entity::insert_many(items).exec(&txn).await?;
        let stored = load(&txn, Tenant::All, id).await?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Creates a bundle, refused when its discounted margin would fall under the floor.
    pub async fn create_bundle(
        &self,
        owner: PartnerId,
        terms: BundleTerms,
        product_ids: Vec<ProductId>,
    ) -> Result<(Bundle, BundlePricing), StoreError> {
        let pricing = self
            .price_bundle(owner, &terms, &product_ids, MarginInputs::ALL)
            .await?;
        let bundle = self
            .write_bundle(owner, BundleId::new(), &terms, &product_ids, 1)
            .await?;
        Ok((bundle, pricing))
    }

    /// Replaces a bundle's terms and products if it is the `expected` version; a margin
    /// under the floor is reported on the fields `set` names. A change that leaves the terms
    /// and the set of products as they are writes nothing, keeps the version and answers the
    /// bundle as `get_bundle` does (unpriced if it is now under its floor).
    pub async fn update_bundle(
        &self,
        tenant: Tenant,
        id: BundleId,
        expected: Expected,
        set: MarginInputs,
        change: impl FnOnce(&Bundle) -> Result<(BundleTerms, Vec<ProductId>), StoreError>,
    ) -> Result<(Bundle, Option<BundlePricing>), StoreError> {
        let current = load(self.db(), tenant, id).await?;
        let expected_version = expected.check("bundle", current.version)?;
        let (terms, product_ids) = change(&current)?;
        // Members are a set, listed by id: the same ones in another order are no change.
        let mut members = product_ids.clone();
        members.sort();
        let mut stored = current.product_ids.clone();
        stored.sort();
        if unchanged(&(&current.terms, stored), &(&terms, members)) {
            let pricing = self.current_pricing(&current).await;
            return Ok((current, pricing));
        }
        let pricing = self
            .price_bundle(current.partner_id, &terms, &product_ids, set)
            .await?;
        let bundle = self
            .write_bundle(
                current.partner_id,
                id,
                &terms,
                &product_ids,
                expected_version + 1,
            )
            .await?;
        Ok((bundle, Some(pricing)))
    }

    /// A bundle with its current pricing (member prices may have changed since it was made).
    pub async fn get_bundle(
        &self,
        tenant: Tenant,
        id: BundleId,
    ) -> Result<(Bundle, Option<BundlePricing>), StoreError> {
        let bundle = load(self.db(), tenant, id).await?;
        let pricing = self.current_pricing(&bundle).await;
        Ok((bundle, pricing))
    }

    /// The bundles `tenant` sees, each with its current pricing as `get_bundle` gives it:
    /// every member of every bundle is read in one query, however many bundles.
    pub async fn list_bundles(
        &self,
        tenant: Tenant,
    ) -> Result<Vec<(Bundle, Option<BundlePricing>)>, StoreError> {
        let mut query = bundle::Entity::find().order_by_asc(bundle::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(bundle::COLUMN.partner_id.eq(own.0));
        }
        let bundles = with_items(self.db(), query.all(self.db()).await?).await?;
        let mut wanted: Vec<uuid::Uuid> = bundles
            .iter()
            .flat_map(|b| b.product_ids.iter().map(|p| p.0))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut products = BTreeMap::new();
        for chunk in wanted.chunks(IN_LIST_CHUNK) {
            for m in product::Entity::find()
                .filter(product::COLUMN.id.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                let p = crate::products::to_domain(m)?;
                products.insert(p.id, p);
            }
        }
        Ok(bundles
            .into_iter()
            .map(|b| {
                // As in `price_bundle`: a member that is gone or not the owner's leaves the
                // bundle unpriced, like a margin now under the floor.
                let items: Option<Vec<_>> = b
                    .product_ids
                    .iter()
                    .map(|id| {
                        products
                            .get(id)
                            .filter(|p| p.partner_id == b.partner_id)
                            .map(|p| BundleItem {
                                product_id: p.id,
                                currency: p.fields.currency,
                                price: p.fields.price,
                                unit_cost: p.fields.unit_cost,
                            })
                    })
                    .collect();
                let pricing =
                    items.and_then(|items| b.terms.price(&items, MarginInputs::default()).ok());
                (b, pricing)
            })
            .collect())
    }

    pub async fn delete_bundle(&self, tenant: Tenant, id: BundleId) -> Result<(), StoreError> {
        load(self.db(), tenant, id).await?;
        bundle::Entity::delete_by_id(id.0).exec(self.db()).await?;
        Ok(())
    }
}
