//! Migration 000010 turns the customer indexes partial and back, on SQLite (the end-to-end
//! suite runs every migration up on both databases).

// A test reports failure by panicking.
#![allow(clippy::unwrap_used)]

use cosell_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

const INDEXES: [&str; 2] = [
    "ix_recommendation_impressions_customer",
    "ix_touchpoints_customer",
];

/// Whether each customer index holds only rows with a customer, read from the schema.
async fn partial(db: &DatabaseConnection) -> Vec<bool> {
    let mut found = Vec::new();
    for name in INDEXES {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                [name.into()],
            ))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} is missing"));
        let sql: String = row.try_get("", "sql").unwrap();
        found.push(sql.ends_with(r#"WHERE "customer_ref" IS NOT NULL"#));
    }
    found
}

#[tokio::test]
async fn the_customer_indexes_become_partial_and_back() {
    let path = std::env::temp_dir().join(format!("cosell-migration-{}.db", std::process::id()));
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(partial(&db).await, [true, true]);
    // Back through migration 000010, whatever came after it.
    let after = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261126_000010_partial_customer_indexes")
        .unwrap();
    Migrator::down(&db, Some(u32::try_from(after + 1).unwrap()))
        .await
        .unwrap();
    assert_eq!(partial(&db).await, [false, false]);
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(partial(&db).await, [true, true]);
    db.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
