//! The subcommands of `cosell`.

pub mod api_key;
pub mod eval;
pub mod import;
pub mod partner;
pub mod plugin;
pub mod serve;
pub mod settle;
pub mod tracking_import;

use std::future::Future;

use anyhow::Context;
use cosell_store::Store;

use crate::settings::StorageSettings;

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(storage: &StorageSettings) -> anyhow::Result<Store> {
    migrated(Store::connect(&storage.database_url()?).await).await
}

/// As [`open_store`], for a command that works on existing data: refused when the
/// database does not exist (see [`StorageSettings::require_existing_database`]).
pub async fn open_existing_store(storage: &StorageSettings) -> anyhow::Result<Store> {
    storage.require_existing_database()?;
    open_store(storage).await
}

/// As [`open_existing_store`], tuned for writing millions of rows (`cosell import`,
/// `cosell settle`): SQLite allocates with mimalloc, which keeps the memory it frees
/// (`cosell_sqlite_malloc`), and connects with [`Store::connect_for_bulk_load`].
pub async fn open_store_for_bulk_load(storage: &StorageSettings) -> anyhow::Result<Store> {
    storage.require_existing_database()?;
    if !cosell_sqlite_malloc::use_mimalloc() {
        tracing::debug!("SQLite had started already; it keeps its allocator");
    }
    cosell_sqlite_malloc::keep_freed_memory();
    migrated(Store::connect_for_bulk_load(&storage.database_url()?).await).await
}

/// Runs `work` and then closes `store`, whatever `work` returned. Without the close, a
/// command that exits leaves SQLite's write-ahead log beside the database (holding its
/// last writes until the next start reads it back), and a copy of `cosell.db` alone would
/// miss them.
pub async fn closing<T>(
    store: &Store,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let result = work.await;
    close(store).await;
    result
}

/// Closes `store`; a failure is logged, as the command's own outcome is what it reports.
pub async fn close(store: &Store) {
    if let Err(error) = store.close().await {
        tracing::warn!(%error, "closing the database failed");
    }
}

async fn migrated(connected: Result<Store, cosell_store::StoreError>) -> anyhow::Result<Store> {
    let store = connected.context("cannot connect to the database")?;
    if let Err(error) = store.migrate().await {
        // Closed like on every other way out, so SQLite folds its log back into the file.
        close(&store).await;
        return Err(error).context("cannot apply database migrations");
    }
    Ok(store)
}

pub async fn migrate(storage: &StorageSettings) -> anyhow::Result<()> {
    close(&open_store(storage).await?).await;
    println!("database is up to date");
    Ok(())
}

pub fn print_openapi() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&cosell_api::openapi())?);
    Ok(())
}
