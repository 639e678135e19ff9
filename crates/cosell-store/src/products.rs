//! Products: each partner's catalog, SKU unique per partner.

use chrono::Utc;
use cosell_core::catalog::OfferStatus;
use cosell_core::catalog::product::ProductInput;
use cosell_core::catalog::{Product, ProductFields};
use cosell_core::{PartnerId, ProductId};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, TransactionTrait,
};

use crate::entities::{bundle, bundle_item, offer, offer_anchor, product};
use crate::expected::unchanged;
use crate::money::{currency, to_minor};
use crate::single_row::AtMostOneRow;
use crate::{Expected, Page, Store, StoreError, Tenant, page};

const TABLE: &str = "products";

/// Filters for listing products.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub category: Option<String>,
    pub active: Option<bool>,
    pub sku: Option<String>,
    /// Operators may narrow a list to one partner.
    pub partner_id: Option<PartnerId>,
}

pub(crate) fn to_domain(m: product::Model) -> Result<Product, StoreError> {
    let currency = currency(TABLE, &m.currency)?;
    let attributes = match m.attributes {
        serde_json::Value::Object(map) => map,
        other => return Err(StoreError::corrupt(TABLE, format!("attributes {other}"))),
    };
    Ok(Product {
        id: ProductId(m.id),
        partner_id: PartnerId(m.partner_id),
        fields: ProductFields {
            sku: m.sku,
            title: m.title,
            category: m.category,
            price: currency.from_minor(m.price_minor),
            unit_cost: currency.from_minor(m.unit_cost_minor),
            currency,
            active: m.active,
            attributes,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn row(
    id: ProductId,
    owner: PartnerId,
    f: &ProductFields,
    version: i32,
) -> Result<product::ActiveModel, StoreError> {
    let now = Utc::now();
    Ok(product::ActiveModel {
        id: Set(id.0),
        partner_id: Set(owner.0),
        sku: Set(f.sku.clone()),
        title: Set(f.title.clone()),
        category: Set(f.category.clone()),
        price_minor: Set(to_minor(TABLE, f.currency, f.price)?),
        unit_cost_minor: Set(to_minor(TABLE, f.currency, f.unit_cost)?),
        currency: Set(f.currency.code().to_owned()),
        active: Set(f.active),
        attributes: Set(serde_json::Value::Object(f.attributes.clone())),
        version: Set(version),
        created_at: Set(now),
        updated_at: Set(now),
    })
}

fn sku_taken(sku: &str) -> impl FnOnce(sea_orm::DbErr) -> StoreError {
    StoreError::on_unique(
        "sku_taken",
        format!("a product with SKU '{sku}' already exists"),
    )
}

impl Store {
    pub async fn create_product(
        &self,
        owner: PartnerId,
        fields: ProductFields,
    ) -> Result<Product, StoreError> {
        let model = product::Entity::insert(row(ProductId::new(), owner, &fields, 1)?)
            .exec_with_returning(self.db())
            .await
            .map_err(sku_taken(&fields.sku))?;
        to_domain(model)
    }

    /// Creates all products in one transaction: either every one is stored or none is.
    pub async fn create_products(
        &self,
        owner: PartnerId,
        all: Vec<ProductFields>,
    ) -> Result<Vec<Product>, StoreError> {
        let txn = self.db().begin().await?;
        let mut created = Vec::with_capacity(all.len());
        for (index, fields) in all.iter().enumerate() {
            let model = product::Entity::insert(row(ProductId::new(), owner, fields, 1)?)
                .exec_with_returning(&txn)
                .await
                .map_err(StoreError::on_unique(
                    "sku_taken",
                    format!(
                        "products[{index}]: a product with SKU '{}' already exists",
                        fields.sku
                    ),
                ))?;
            created.push(to_domain(model)?);
        }
        txn.commit().await?;
        Ok(created)
    }

    pub async fn get_product(&self, tenant: Tenant, id: ProductId) -> Result<Product, StoreError> {
        find_product(self.db(), tenant, id).await
    }

    pub async fn list_products(
        &self,
        tenant: Tenant,
        filter: ProductFilter,
        after: Option<uuid::Uuid>,
        limit: u64,
    ) -> Result<Page<Product>, StoreError> {
        let mut query = product::Entity::find()
            .order_by_asc(product::COLUMN.id)
            .limit(limit + 1);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(product::COLUMN.partner_id.eq(own.0));
        }
        if let Some(partner) = filter.partner_id {
            query = query.filter(product::COLUMN.partner_id.eq(partner.0));
        }
        if let Some(category) = filter.category {
            query = query.filter(product::COLUMN.category.eq(category));
        }
        if let Some(active) = filter.active {
            query = query.filter(product::COLUMN.active.eq(active));
        }
        if let Some(sku) = filter.sku {
            query = query.filter(product::COLUMN.sku.eq(sku));
        }
        if let Some(after) = after {
            query = query.filter(product::COLUMN.id.gt(after));
        }
        let items = query
            .all(self.db())
            .await?
            .into_iter()
            .map(to_domain)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(items, limit, |p| p.id.0))
    }

    /// Replaces a product's fields if it is the caller's `expected` version; a change that
    /// leaves every field as it is writes nothing and keeps the version.
    pub async fn update_product(
        &self,
        tenant: Tenant,
        id: ProductId,
        expected: Expected,
        change: impl FnOnce(ProductInput) -> ProductInput,
    ) -> Result<Product, StoreError> {
        let current = self.get_product(tenant, id).await?;
        let expected_version = expected.check("product", current.version)?;
        let was_priced_in = current.fields.currency;
        let fields = ProductFields::parse(change(current.fields.clone().into()))?;
        if unchanged(&current.fields, &fields) {
            return Ok(current);
        }
        if fields.currency != was_priced_in {
            self.check_no_bundle_in_other_currency(id, &fields).await?;
        }
        let mut update = row(id, current.partner_id, &fields, expected_version + 1)?;
        update.created_at = sea_orm::ActiveValue::NotSet;
        let result = product::Entity::update_many()
            .set(update)
            .filter(product::COLUMN.id.eq(id.0))
            .filter(product::COLUMN.version.eq(expected_version))
            .exec(self.db())
            .await
            .map_err(sku_taken(&fields.sku))?;
        if result.rows_affected == 0 {
            let now = self.get_product(tenant, id).await?;
            return Err(StoreError::Stale {
                entity: "product",
                current: now.version,
            });
        }
        self.get_product(tenant, id).await
    }

    /// Refuses to reprice a bundle member in another currency than its bundles': a bundle's
    /// price sums its members' prices, which only adds up in one currency.
    async fn check_no_bundle_in_other_currency(
        &self,
        id: ProductId,
        fields: &ProductFields,
    ) -> Result<(), StoreError> {
        let other_currency = bundle::Entity::find()
            .select_only()
            .column(bundle::Column::Id)
            .filter(bundle::COLUMN.currency.ne(fields.currency.code()))
            .into_query();
        let members = bundle_item::Entity::find()
            .filter(bundle_item::COLUMN.product_id.eq(id.0))
            .filter(bundle_item::COLUMN.bundle_id.in_subquery(other_currency))
            .count(self.db())
            .await?;
        if members > 0 {
            return Err(StoreError::conflict(
                "bundle_currency",
                "the product is a member of a bundle priced in its current currency; take it out \
                 of the bundle, or change the bundle, before repricing it in another currency",
            ));
        }
        Ok(())
    }

    /// Deletes a product nothing live depends on. Bundles and offers of the product are
    /// refused by their foreign keys; anchors cascade (an archived offer keeps no claim),
    /// so an anchor of an offer that is not archived is checked here, or that offer would
    /// be left with no anchor at all, a state its owner could neither create nor repair.
    pub async fn delete_product(&self, tenant: Tenant, id: ProductId) -> Result<(), StoreError> {
        let txn = self.db().begin().await?;
        find_product(&txn, tenant, id).await?;
        let live_offers = offer::Entity::find()
            .select_only()
            .column(offer::Column::Id)
            .filter(offer::COLUMN.status.ne(OfferStatus::Archived.as_str()))
            .into_query();
        let anchoring = offer_anchor::Entity::find()
            .filter(offer_anchor::COLUMN.product_id.eq(id.0))
            .filter(offer_anchor::COLUMN.offer_id.in_subquery(live_offers))
            .count(&txn)
            .await?;
        if anchoring > 0 {
            return Err(product_in_use());
        }
        product::Entity::delete_by_id(id.0)
            .exec(&txn)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict { .. } => product_in_use(),
                other => other,
            })?;
        txn.commit().await?;
        Ok(())
    }
}

fn product_in_use() -> StoreError {
    StoreError::conflict(
        "product_in_use",
        "the product is part of a bundle, offered, or an anchor of an offer that is not \
         archived; remove those first",
    )
}

/// Reads a product visible to `tenant` on any connection (inside or outside a transaction).
pub(crate) async fn find_product<C: ConnectionTrait>(
    db: &C,
    tenant: Tenant,
    id: ProductId,
) -> Result<Product, StoreError> {
    let model = product::Entity::find_by_id(id.0)
        .at_most_one_row(db)
        .await?
        .ok_or(StoreError::NotFound("product"))?;
    let product = to_domain(model)?;
    if !tenant.sees(product.partner_id) {
        return Err(StoreError::NotFound("product"));
    }
    Ok(product)
}
