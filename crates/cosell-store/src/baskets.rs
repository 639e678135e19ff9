//! Imported co-purchase baskets, the input the recommendation model is mined from.

use chrono::Utc;
use cosell_reco::ModelBuilder;
use sea_orm::{
    ActiveValue::Set, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::entities::basket;
use crate::{Store, StoreError};

/// Baskets read per query when loading: bounded memory, few round trips.
const PAGE: u64 = 10_000;

impl Store {
    /// Stores baskets (each a list of item names) in one transaction.
    pub async fn insert_baskets<S: AsRef<str>>(
        &self,
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
                }
            });
            basket::Entity::insert_many(rows).exec(&txn).await?;
        }
        txn.commit().await?;
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
}
