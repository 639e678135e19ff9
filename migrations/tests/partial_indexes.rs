//! Migrations 000010 and 000016 turn the customer and click indexes partial and back, on
//! SQLite (the end-to-end suite runs every migration up on both databases).

// A test reports failure by panicking.
#![allow(clippy::unwrap_used)]

use cosell_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// Each partial index and the column its rows must have.
const INDEXES: [(&str, &str); 3] = [
    ("ix_recommendation_impressions_customer", "customer_ref"),
    ("ix_touchpoints_customer", "customer_ref"),
    ("ix_touchpoints_click", "click_id"),
];

/// Whether each index holds only rows that have its column, read from the schema.
async fn partial(db: &DatabaseConnection) -> Vec<bool> {
    let mut found = Vec::new();
    for (name, column) in INDEXES {
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
        found.push(sql.ends_with(&format!(r#"WHERE "{column}" IS NOT NULL"#)));
    }
    found
}

/// Undoes every migration from `name` on.
async fn down_through(db: &DatabaseConnection, name: &str) {
    let after = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == name)
        .unwrap();
    Migrator::down(db, Some(u32::try_from(after + 1).unwrap()))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_customer_and_click_indexes_become_partial_and_back() {
    let path = std::env::temp_dir().join(format!("cosell-migration-{}.db", std::process::id()));
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(partial(&db).await, [true, true, true]);
    down_through(&db, "m20261126_000016_partial_click_index").await;
    assert_eq!(partial(&db).await, [true, true, false]);
    down_through(&db, "m20261126_000010_partial_customer_indexes").await;
    assert_eq!(partial(&db).await, [false, false, false]);
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(partial(&db).await, [true, true, true]);
    db.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
