//! What the co-purchase model is mined from: baskets imported with `cosell import
//! baskets`, and every recorded conversion, its lines being one basket.

use chrono::Utc;
use cosell_reco::ModelBuilder;
use sea_orm::{
    ActiveValue::Set, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use std::collections::HashMap;

use crate::entities::{basket, conversion, conversion_line, product};
use crate::products::to_domain as product_domain;
use crate::reco_catalog::item_key;
use crate::{Store, StoreError};

/// Baskets read per query when loading: bounded memory, few round trips.
const PAGE: u64 = 10_000;

impl Store {
    /// Stores baskets (each a list of item names) from the file whose SHA-256 (hex) is
    /// `source`, in one transaction.
    pub async fn insert_baskets<S: AsRef<str>>(
        &self,
        source: &str,
        baskets: &[Vec<S>],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let txn = self.db().begin().await?;
        // 3 bind parameters a row: far below PostgreSQL's 65,535 per statement.
        for chunk in baskets.chunks(1000) {
            let rows = chunk.iter().map(|items| {
                let text: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
                basket::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    items: Set(text.join("\n")),
                    imported_at: Set(now),
                    source: Set(Some(source.to_owned())),
                }
            });
            basket::Entity::insert_many(rows).exec(&txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// How many stored baskets came from the file `source` (its SHA-256, hex).
    pub async fn baskets_from(&self, source: &str) -> Result<u64, StoreError> {
        Ok(basket::Entity::find()
            .filter(basket::COLUMN.source.eq(source))
            .count(self.db())
            .await?)
    }

    /// Deletes the baskets that came from the file `source`: what an interrupted import of
    /// it left, before it is imported again.
    pub async fn delete_baskets_from(&self, source: &str) -> Result<(), StoreError> {
        basket::Entity::delete_many()
            .filter(basket::COLUMN.source.eq(source))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// How many baskets are stored.
    pub async fn basket_count(&self) -> Result<u64, StoreError> {
        Ok(basket::Entity::find().count(self.db()).await?)
    }

    /// Adds every stored basket to `builder`, in import order, a page at a time.
    pub async fn load_baskets(&self, builder: &mut ModelBuilder) -> Result<(), StoreError> {
        let mut after: Option<uuid::Uuid> = None;
        loop {
            let mut query = basket::Entity::find()
                .select_only()
                .column(basket::Column::Id)
                .column(basket::Column::Items)
                .order_by_asc(basket::COLUMN.id)
                .limit(PAGE);
            if let Some(last) = after {
                query = query.filter(basket::COLUMN.id.gt(last));
            }
            let page: Vec<(uuid::Uuid, String)> = query.into_tuple().all(self.db()).await?;
            for (_, items) in &page {
                let items: Vec<&str> = items.split('\n').collect();
                builder.add_basket(&items);
            }
            match page.last() {
                Some((id, _)) if page.len() as u64 == PAGE => after = Some(*id),
                _ => return Ok(()),
            }
        }
    }

    /// How many conversions are stored.
    pub async fn conversion_count(&self) -> Result<u64, StoreError> {
        Ok(conversion::Entity::find().count(self.db()).await?)
    }

    /// Adds every stored conversion to `builder` as a basket of its lines' items, a page
    /// of conversions at a time. A line's item is its product's co-purchase key (the
    /// `item_key` attribute, else the SKU, as the recommendation catalog maps it), or the
    /// line's SKU when it names no stored product. Refunded lines still count: the
    /// customer chose the items together.
    pub async fn load_conversion_baskets(
        &self,
        builder: &mut ModelBuilder,
    ) -> Result<(), StoreError> {
        // Conversions per page: their ids are bind parameters of the lines' query.
        const CONVERSIONS: u64 = 5_000;
        let mut keys: HashMap<uuid::Uuid, String> = HashMap::new();
        let mut after: Option<uuid::Uuid> = None;
        loop {
            let mut query = conversion::Entity::find()
                .select_only()
                .column(conversion::Column::Id)
                .order_by_asc(conversion::COLUMN.id)
                .limit(CONVERSIONS);
            if let Some(last) = after {
                query = query.filter(conversion::COLUMN.id.gt(last));
            }
            let ids: Vec<uuid::Uuid> = query.into_tuple().all(self.db()).await?;
            let Some(&last) = ids.last() else {
                return Ok(());
            };
            let lines: Vec<(uuid::Uuid, Option<uuid::Uuid>, String)> =
                conversion_line::Entity::find()
                    .select_only()
                    .column(conversion_line::Column::ConversionId)
                    .column(conversion_line::Column::ProductId)
                    .column(conversion_line::Column::Sku)
                    .filter(
                        conversion_line::COLUMN
                            .conversion_id
                            .is_in(ids.iter().copied()),
                    )
                    .order_by_asc(conversion_line::COLUMN.conversion_id)
                    .order_by_asc(conversion_line::COLUMN.line_no)
                    .into_tuple()
                    .all(self.db())
                    .await?;
            self.learn_item_keys(&mut keys, lines.iter().filter_map(|l| l.1))
                .await?;
            for basket in lines.chunk_by(|a, b| a.0 == b.0) {
                let items: Vec<&str> = basket
                    .iter()
                    .map(|(_, product, sku)| {
                        product
                            .and_then(|p| keys.get(&p))
                            .map_or(sku.as_str(), String::as_str)
                    })
                    .collect();
                builder.add_basket(&items);
            }
            if (ids.len() as u64) < CONVERSIONS {
                return Ok(());
            }
            after = Some(last);
        }
    }

    /// Adds the co-purchase keys of `products` not in `keys` yet.
    async fn learn_item_keys(
        &self,
        keys: &mut HashMap<uuid::Uuid, String>,
        products: impl Iterator<Item = uuid::Uuid>,
    ) -> Result<(), StoreError> {
        let mut unknown: Vec<uuid::Uuid> = products.filter(|p| !keys.contains_key(p)).collect();
        unknown.sort_unstable();
        unknown.dedup();
        for chunk in unknown.chunks(5_000) {
            for row in product::Entity::find()
                .filter(product::COLUMN.id.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                let p = product_domain(row)?;
                keys.insert(p.id.0, item_key(&p.fields));
            }
        }
        Ok(())
    }
}
