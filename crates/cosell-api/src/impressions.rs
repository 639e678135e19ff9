//! Recording shown recommendations off the request path: an answer hands its impressions
//! to a bounded channel and a background task writes them in batches, so a request never
//! waits for an insert (on SQLite, for the single writer).
//!
//! The contact cap still counts every impression: until its batch commits, an impression
//! is kept in memory by customer and `customer_profile` adds it to the stored ones. Reading
//! a customer's count and recording what the answer shows happen under that customer's
//! lock, so concurrent requests for one customer cannot together exceed the cap (within
//! this process; two server instances answering the same customer at the same instant
//! still can, as before).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cosell_core::PartnerId;
use cosell_store::Store;
use cosell_store::customers::ShownImpression;
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

/// Answers waiting for the writer before a new one waits for room (backpressure).
const QUEUE: usize = 4096;
/// Most impressions written in one transaction.
const MAX_BATCH: usize = 2000;
/// How long the writer waits for more answers after the first of a batch. Impressions are
/// counted from memory until written, so the delay is invisible to the contact cap.
const LINGER: Duration = Duration::from_millis(20);
/// Attempts at writing a batch before its impressions are given up (and logged).
const ATTEMPTS: u32 = 5;
/// Customer locks: a customer's requests share one; unrelated customers rarely do.
const LOCK_STRIPES: usize = 256;

enum Command {
    Record(Vec<ShownImpression>),
    /// Answered once every impression recorded before it is written.
    Flush(oneshot::Sender<()>),
}

type CustomerKey = (PartnerId, String);

/// Impressions handed to the writer and not yet committed, by customer.
#[derive(Debug, Default)]
struct Unflushed(Mutex<HashMap<CustomerKey, Vec<ShownImpression>>>);

impl Unflushed {
    fn add(&self, shown: &[ShownImpression]) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for i in shown {
            if let Some(reference) = &i.customer_ref {
                map.entry((i.merchant, reference.clone()))
                    .or_default()
                    .push(i.clone());
            }
        }
    }

    fn remove(&self, written: &[ShownImpression]) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for i in written {
            let Some(reference) = &i.customer_ref else {
                continue;
            };
            let key = (i.merchant, reference.clone());
            if let Some(pending) = map.get_mut(&key) {
                pending.retain(|p| p.id != i.id);
                if pending.is_empty() {
                    map.remove(&key);
                }
            }
        }
    }

    fn of(&self, merchant: PartnerId, reference: &str) -> Vec<ShownImpression> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(merchant, reference.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

/// The in-process impression log the recommendation endpoint writes to.
#[derive(Debug)]
pub struct ImpressionLog {
    sender: mpsc::Sender<Command>,
    unflushed: Arc<Unflushed>,
    /// Impressions handed to the writer and not yet written (or given up).
    pending: Arc<AtomicUsize>,
    locks: Box<[tokio::sync::Mutex<()>]>,
    hasher: RandomState,
}

impl ImpressionLog {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(store: Store) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let unflushed = Arc::new(Unflushed::default());
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write_batches(
            store,
            receiver,
            Arc::clone(&unflushed),
            Arc::clone(&pending),
        ));
        ImpressionLog {
            sender,
            unflushed,
            pending,
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            hasher: RandomState::new(),
        }
    }

    /// Held while a customer's shown count is read and the answer's impressions recorded.
    pub async fn lock_customer(
        &self,
        merchant: PartnerId,
        reference: &str,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = self.hasher.hash_one((merchant, reference)) as usize % self.locks.len();
        self.locks[stripe].lock().await
    }

    /// The customer's impressions not yet known to be written. Take this before reading the
    /// stored ones: an impression is committed before it leaves this list, so it is then
    /// in one or the other (or both, and counted once by id).
    pub fn unflushed(&self, merchant: PartnerId, reference: &str) -> Vec<ShownImpression> {
        self.unflushed.of(merchant, reference)
    }

    /// Hands `shown` to the writer; waits only when the queue is full.
    pub async fn record(&self, shown: Vec<ShownImpression>) -> Result<(), ApiError> {
        if shown.is_empty() {
            return Ok(());
        }
        self.unflushed.add(&shown);
        self.pending.fetch_add(shown.len(), Ordering::AcqRel);
        if let Err(mpsc::error::SendError(Command::Record(lost))) =
            self.sender.send(Command::Record(shown)).await
        {
            self.unflushed.remove(&lost);
            self.pending.fetch_sub(lost.len(), Ordering::AcqRel);
            tracing::error!("the impression writer has stopped");
            return Err(ApiError::internal());
        }
        Ok(())
    }

    /// Waits for the impressions recorded so far, if any are still queued: before a
    /// conversion is attributed, so a sale right after the answer that showed a partner's
    /// offer finds that offer's touchpoint. Free when nothing is queued.
    pub async fn written(&self) {
        if self.pending.load(Ordering::Acquire) > 0 {
            self.flush().await;
        }
    }

    /// Waits until every impression recorded so far is written (or given up): at shutdown,
    /// and in tests that read the stored impressions.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

/// Collects a batch (up to `MAX_BATCH` impressions, or whatever arrives within `LINGER`
/// of the first), writes it in one transaction, and answers the flushes queued with it.
/// Lingering turns a steady stream of small answers into a few large inserts: each
/// transaction has a fixed cost (on SQLite a commit and three hops to its worker thread)
/// that per-answer batches paid thousands of times a second. A flush ends the wait.
async fn write_batches(
    store: Store,
    mut receiver: mpsc::Receiver<Command>,
    unflushed: Arc<Unflushed>,
    pending: Arc<AtomicUsize>,
) {
    while let Some(first) = receiver.recv().await {
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next {
            match command {
                Command::Record(shown) => batch.extend(shown),
                Command::Flush(done) => flushes.push(done),
            }
            next = if batch.len() < MAX_BATCH && flushes.is_empty() {
                tokio::time::timeout_at(deadline, receiver.recv())
                    .await
                    .ok()
                    .flatten()
            } else {
                None
            };
        }
        write(&store, &batch).await;
        unflushed.remove(&batch);
        pending.fetch_sub(batch.len(), Ordering::AcqRel);
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes one batch, retrying with growing pauses while the database is unavailable.
async fn write(store: &Store, batch: &[ShownImpression]) {
    for attempt in 1..=ATTEMPTS {
        match store.insert_impressions(batch).await {
            Ok(()) => return,
            Err(error) if attempt < ATTEMPTS => {
                tracing::warn!(%error, attempt, "writing impressions failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(error) => tracing::error!(
                %error,
                lost = batch.len(),
                "writing impressions failed; giving them up"
            ),
        }
    }
}
