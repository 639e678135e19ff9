//! Cosell's persistence: sea-orm entities behind repository functions that speak domain types.
//!
//! Every function that touches partner data takes a [`Tenant`], so isolation is decided in
//! one place: a partner's query is filtered by its id, and another tenant's row is reported
//! as missing, exactly like an absent one.

mod entities;
mod error;
mod expected;
mod money;

mod attribution;
mod bulk;
mod customer_lookup;
mod journal;
mod ledger_guard;
mod single_row;

pub mod api_keys;
pub mod baskets;
pub mod bundles;
pub mod conversion_import;
pub mod conversions;
pub mod customer_figures;
pub mod customers;
pub mod hooks;
pub mod idempotency;
pub mod journeys;
pub mod metrics;
pub mod offer_rules;
pub mod offers;
pub mod partners;
pub mod partnerships;
pub mod plugins;
pub mod products;
pub mod reattribution;
pub mod reco_catalog;
pub mod refunds;
pub mod relations;
pub mod settlement;
pub mod touchpoints;
pub mod tracking;

use std::sync::Arc;
use std::time::Duration;

use cosell_core::PartnerId;
use cosell_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

pub use error::StoreError;
pub use expected::Expected;
use hooks::{Hooks, NoHooks};

/// Whose data a call may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant {
    /// An operator: every partner's data.
    All,
    /// One partner: only its own data.
    Partner(PartnerId),
}

impl Tenant {
    /// Whether this tenant may see a row owned by `owner`.
    pub fn sees(self, owner: PartnerId) -> bool {
        match self {
            Tenant::All => true,
            Tenant::Partner(id) => id == owner,
        }
    }
}

/// A page of results and the cursor for the next page, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<uuid::Uuid>,
}

/// Cuts a `limit + 1` fetch to `limit` items and a cursor: ids are time-ordered v7 uuids.
fn page<T>(mut items: Vec<T>, limit: u64, id: impl Fn(&T) -> uuid::Uuid) -> Page<T> {
    let more = items.len() as u64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { items.last().map(id) } else { None };
    Page { items, next_cursor }
}

/// The page size of a SQLite database Cosell creates. A bulk load of 1,000,000 conversions
/// took about a tenth less with 8 KiB pages than with SQLite's 4 KiB (fewer pages split and
/// written per row, `docs/benchmarks.md`). A database keeps the page size it was created
/// with; on an existing one the setting does nothing.
const SQLITE_PAGE_BYTES: u32 = 8192;

/// The database handle every repository function takes, and the plugin hooks
/// attribution calls.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    hooks: hooks::SharedHooks,
    /// Statement lines a settlement run writes per part (see `settlement`).
    settlement_part_lines: usize,
}

// By hand: the hooks are a trait object.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). SQLite runs in WAL mode with
    /// foreign keys on and a busy timeout, so concurrent writers wait rather than fail.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, None).await
    }

    /// Connects for a bulk load (`cosell import`): as [`Store::connect`], with a SQLite
    /// page cache of 128 MiB per connection instead of 2 MiB, so the index pages of
    /// tables growing by millions of rows stay in memory instead of being read back
    /// from the operating system for nearly every row. Durability is unchanged.
    ///
    /// At most two SQLite connections: a bulk load uses one at a time, but the pool
    /// opens another whenever the last one is not back yet, and each fills its own
    /// cache (with eight, a 1M-conversion import peaked at 0.9 GiB instead of 0.7).
    pub async fn connect_for_bulk_load(url: &str) -> Result<Self, StoreError> {
        Self::open(url, Some(128 * 1024)).await
    }

    async fn open(url: &str, cache_kib: Option<u32>) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .create_if_missing(true)
                    .page_size(SQLITE_PAGE_BYTES)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                match cache_kib {
                    // A negative cache_size is in KiB rather than pages.
                    Some(kib) => o.pragma("cache_size", format!("-{kib}")),
                    None => o,
                }
            });
        if url.starts_with("sqlite:") {
            options.max_connections(if cache_kib.is_some() { 2 } else { 8 });
        }
        let db = Database::connect(options).await?;
        Ok(Store {
            db,
            hooks: Arc::new(NoHooks),
            settlement_part_lines: settlement::PART_LINES,
        })
    }

    /// This store, calling `hooks` for the plugins partnerships name whenever it
    /// attributes (recording, importing, re-attributing). Without hooks every named
    /// plugin falls back to the built-in model or rule, and the fallback is recorded.
    pub fn with_hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// This store, writing each settlement statement's lines and entry in parts of
    /// `lines` statement lines (default 10,000): how much of a statement is in memory at
    /// once. The rows written are the same whatever the part size.
    pub fn with_settlement_part_lines(mut self, lines: usize) -> Self {
        self.settlement_part_lines = lines.max(1);
        self
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Closes every connection, waiting for those in use to come back. On SQLite the last
    /// connection to close copies the write-ahead log into the database file and deletes
    /// it, so the data directory is left with `cosell.db` alone.
    pub async fn close(&self) -> Result<(), StoreError> {
        Ok(self.db.close_by_ref().await?)
    }

    /// How many migrations the code has that the database has not applied.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(Migrator::get_pending_migrations(&self.db).await?.len())
    }

    /// Brings PostgreSQL's planner statistics up to date (`ANALYZE`); on SQLite, which
    /// plans these queries from the indexes alone, does nothing. For bulk loads: they grow
    /// tables faster than autovacuum re-analyses them (and where autovacuum is off, nothing
    /// else would), and with statistics of near-empty tables the planner looked up each
    /// chunk's order ids by scanning every conversion of the merchant.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if self.db.get_database_backend() == DbBackend::Postgres {
            self.db.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) fn hooks(&self) -> &dyn Hooks {
        self.hooks.as_ref()
    }
}
