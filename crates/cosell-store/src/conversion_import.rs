//! Conversions imported chunk after chunk (`cosell import conversions`): each chunk is
//! checked and attributed while the chunk before it is written, so reading and computing
//! on one core overlap the database's writing on the other. Recording the chunks one
//! after another with [`Store::record_conversions`] gives the same outcomes and rows:
//!
//! - A chunk is checked against what was stored before the chunk being written, so an
//!   order in both looks new to the later one. The (merchant, order id) key refuses the
//!   later write, and that chunk is recorded again once the earlier one is stored, where
//!   the order replays or conflicts as it would have.
//! - Tiered commissions and commission plugins are rated on the partner's revenue so far
//!   in the period, which must include the chunk being written: for a merchant with such
//!   terms each chunk is written before the next is checked.
//!
//! Writes stay in order, one transaction per chunk.

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use sea_orm::DbErr;
use tokio::task::JoinHandle;

use crate::attribution::Terms;
use crate::conversions::{NewConversion, Recorded};
use crate::journal::is_unique_violation;
use crate::{Store, StoreError};

/// An import in progress: at most one chunk being written while the next is checked.
pub struct ConversionImport {
    store: Store,
    writing: Option<Writing>,
    /// Outcomes of the chunks stored since the last answer.
    stored: Vec<Recorded>,
}

/// A chunk whose rows are being written, kept whole in case it must be recorded again.
struct Writing {
    merchant: PartnerId,
    batch: Vec<NewConversion>,
    now: DateTime<Utc>,
    outcomes: Vec<Recorded>,
    task: JoinHandle<Result<(), StoreError>>,
}

impl ConversionImport {
    pub fn new(store: Store) -> Self {
        ConversionImport {
            store,
            writing: None,
            stored: Vec::new(),
        }
    }

    /// Checks `merchant`'s `batch` and starts writing it. Answers the outcomes of the
    /// chunks stored meanwhile (the one before it, or nothing for the first chunk); this
    /// chunk's come from the next call or from [`ConversionImport::finish`]. A refused
    /// batch (invalid, or a database error) is not written; the chunk before it still is,
    /// and `finish` answers its outcomes.
    pub async fn record(
        &mut self,
        merchant: PartnerId,
        batch: Vec<NewConversion>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let terms = Terms::load(self.store.db(), &[merchant].into()).await?;
        if terms.reads_period_revenue() {
            self.wait().await?;
        }
        let checked = self
            .store
            .check_conversions(merchant, &batch, now, &terms)
            .await?;
        self.wait().await?;
        let store = self.store.clone();
        let rows = checked.rows;
        self.writing = Some(Writing {
            merchant,
            batch,
            now,
            outcomes: checked.outcomes,
            task: tokio::spawn(async move { store.write_conversions(rows).await }),
        });
        Ok(std::mem::take(&mut self.stored))
    }

    /// Waits for the last chunk to be stored; answers the outcomes not answered yet.
    pub async fn finish(mut self) -> Result<Vec<Recorded>, StoreError> {
        self.wait().await?;
        Ok(self.stored)
    }

    /// Waits for the chunk being written, if any, and keeps its outcomes.
    async fn wait(&mut self) -> Result<(), StoreError> {
        let Some(w) = self.writing.take() else {
            return Ok(());
        };
        let written = w.task.await.map_err(|e| {
            StoreError::Db(DbErr::Custom(format!("writing conversions failed: {e}")))
        })?;
        let outcomes = match written {
            Ok(()) => w.outcomes,
            // An order of this chunk was also in the one before it, stored since the check.
            Err(StoreError::Db(e)) if is_unique_violation(&e) => {
                self.store
                    .record_conversions(w.merchant, &w.batch, w.now)
                    .await?
            }
            Err(e) => return Err(e),
        };
        self.stored.extend(outcomes);
        Ok(())
    }
}
