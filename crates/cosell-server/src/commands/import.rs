//! `cosell import baskets FILE`: loads co-purchase baskets into the database and mines
//! the model from everything stored, as the server's next rebuild will. A file is imported
//! once: its baskets are stored with its SHA-256, and the same bytes again add nothing.

use std::io::{BufReader, Read};
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use cosell_reco::{BasketFormat, MinSupport, read_baskets};
use cosell_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::settings::StorageSettings;

/// Baskets written per transaction: one commit per chunk keeps the progress bar moving.
const CHUNK: usize = 5_000;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import baskets, one per line: item names separated by commas (CSV), or integer
    /// item ids separated by spaces (a `.dat` file).
    Baskets {
        /// The file to import; a name ending in `.dat` is read as integer ids.
        file: PathBuf,
        /// Baskets an item or pair must appear in, for the model mined after the import
        /// (at least 1).
        #[arg(long, default_value = "10")]
        min_support: MinSupport,
    },
    #[command(flatten)]
    Tracking(super::tracking_import::TrackingImport),
}

fn bar(len: u64, template: &str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(template)?);
    Ok(bar)
}

/// A reader that hashes what passes through it, so the file is read once.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub async fn run(storage: &StorageSettings, command: ImportCommand) -> anyhow::Result<()> {
    let (file, min_support) = match command {
        ImportCommand::Baskets { file, min_support } => (file, min_support),
        ImportCommand::Tracking(tracking) => {
            return super::tracking_import::run(storage, tracking).await;
        }
    };
    let handle =
        std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let reading = bar(
        handle.metadata()?.len(),
        "reading  {bar:40} {bytes}/{total_bytes} ({eta})",
    )?;
    let mut baskets: Vec<Vec<String>> = Vec::new();
    let mut hashing = Hashing {
        inner: reading.wrap_read(handle),
        hasher: Sha256::new(),
    };
    read_baskets(
        BufReader::new(&mut hashing),
        BasketFormat::from_path(&file),
        |items| baskets.push(items.iter().map(|s| (*s).to_owned()).collect()),
    )
    .with_context(|| format!("cannot read baskets from {}", file.display()))?;
    reading.finish();
    let source = hex::encode(hashing.hasher.finalize());

    let store = super::open_store_for_bulk_load(storage).await?;
    super::closing(&store, async {
        let stored = store.baskets_from(&source).await?;
        if stored > 0 && stored == baskets.len() as u64 {
            println!(
                "{} was imported before ({stored} baskets): nothing imported",
                file.display()
            );
            return Ok(());
        }
        // Fewer: an earlier run of this file stopped part-way; it is imported again whole.
        store.delete_baskets_from(&source).await?;
        store_baskets(&store, &source, &baskets, min_support).await
    })
    .await
}

/// Stores the read baskets of the file `source` in chunks and mines the model from all
/// stored ones.
async fn store_baskets(
    store: &Store,
    source: &str,
    baskets: &[Vec<String>],
    min_support: MinSupport,
) -> anyhow::Result<()> {
    let storing = bar(
        baskets.len() as u64,
        "storing  {bar:40} {pos}/{len} baskets ({eta})",
    )?;
    for chunk in baskets.chunks(CHUNK) {
        store.insert_baskets(source, chunk).await?;
        storing.inc(chunk.len() as u64);
    }
    storing.finish();

    let model = cosell_api::reco::rebuild_model(store, min_support).await?;
    println!(
        "imported {} baskets; the model mined from all {} stored baskets has {} frequent items and {} frequent pairs (a running server swaps it in at its next rebuild)",
        baskets.len(),
        model.basket_count(),
        model.frequent_items().count(),
        model.frequent_pairs().len()
    );
    Ok(())
}
