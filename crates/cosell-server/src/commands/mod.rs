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
    let url = storage.database_url()?;
    let store = Store::connect(&url)
        .await
        .context("cannot connect to the database")?;
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
