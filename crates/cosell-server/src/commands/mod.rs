//! The subcommands of `cosell`.

pub mod api_key;
pub mod eval;
pub mod import;
pub mod partner;
pub mod plugin;
pub mod serve;
pub mod settle;
pub mod tracking_import;

use anyhow::Context;
use cosell_store::Store;

use crate::settings::StorageSettings;

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(storage: &StorageSettings) -> anyhow::Result<Store> {
    migrated(Store::connect(&storage.database_url()?).await).await
}

/// As [`open_store`], tuned for loading millions of rows (`cosell import`).
pub async fn open_store_for_bulk_load(storage: &StorageSettings) -> anyhow::Result<Store> {
    migrated(Store::connect_for_bulk_load(&storage.database_url()?).await).await
}

async fn migrated(connected: Result<Store, cosell_store::StoreError>) -> anyhow::Result<Store> {
    let store = connected.context("cannot connect to the database")?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

pub async fn migrate(storage: &StorageSettings) -> anyhow::Result<()> {
    open_store(storage).await?;
    println!("database is up to date");
    Ok(())
}

pub fn print_openapi() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&cosell_api::openapi())?);
    Ok(())
}
