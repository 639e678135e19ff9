//! A relation is unique within the catalog of the partner that declared it, not across
//! every tenant.
//!
//! Each partner keeps its own relations (the recommender reads the merchant's, a listing
//! shows the caller's), but the first schema made `(kind, from, to)` unique for everyone:
//! a partner that had related two products first kept the other partner from declaring the
//! same relation in its own catalog, and the refusal told it that a relation it cannot see
//! exists. The key now starts with the owner.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "product_relations";
const ACROSS_TENANTS: &str = "uq_product_relations_kind_from_product_id_to_product_id";
/// Short enough for PostgreSQL's 63-character identifiers.
const PER_OWNER: &str = "uq_product_relations_owner_kind_pair";

fn unique(name: &str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(TABLE).unique();
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

async fn replace(
    manager: &SchemaManager<'_>,
    old: &str,
    new: IndexCreateStatement,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(old).table(TABLE).to_owned())
        .await?;
    manager.create_index(new).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite as well, so the table is never left without its key.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let key = unique(
            PER_OWNER,
            &["partner_id", "kind", "from_product_id", "to_product_id"],
        );
        replace(manager, ACROSS_TENANTS, key).await
    }

    /// Fails when two partners have since declared the same relation: the old key cannot
    /// hold both.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let key = unique(
            ACROSS_TENANTS,
            &["kind", "from_product_id", "to_product_id"],
        );
        replace(manager, PER_OWNER, key).await
    }
}
