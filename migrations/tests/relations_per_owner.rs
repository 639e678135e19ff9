//! Migration 000011 moves the relations' unique key under their owner and back, on SQLite
//! (the end-to-end suite runs every migration up on both databases and tests the rule).

// A test reports failure by panicking.
#![allow(clippy::unwrap_used)]

use cosell_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// The unique indexes of `product_relations`, by name, read from the schema.
async fn unique_indexes(db: &DatabaseConnection) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'product_relations' \
         AND name LIKE 'uq_%' ORDER BY name",
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get("", "name").unwrap())
    .collect()
}

#[tokio::test]
async fn the_relation_key_moves_under_the_owner_and_back() {
    let path = std::env::temp_dir().join(format!("cosell-relations-{}.db", std::process::id()));
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    let per_owner = ["uq_product_relations_owner_kind_pair"];
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(unique_indexes(&db).await, per_owner);
    let after = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261126_000011_relations_per_owner")
        .unwrap();
    Migrator::down(&db, Some(u32::try_from(after + 1).unwrap()))
        .await
        .unwrap();
    assert_eq!(
        unique_indexes(&db).await,
        ["uq_product_relations_kind_from_product_id_to_product_id"]
    );
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(unique_indexes(&db).await, per_owner);
    db.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
