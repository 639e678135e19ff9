//! `cosell import touchpoints FILE` and `cosell import conversions FILE`: the bulk path.
//! Files are JSON Lines, one event or conversion per line, in the API's shapes plus
//! the partner (`partner_id`, `merchant_id`) each line belongs to. Lines go through the
//! same store calls as the API, a few thousand at a time, so they are checked, deduplicated
//! and attributed exactly as if they had been posted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use cosell_api::plugins::hooks::PluginHooks;
use cosell_core::PartnerId;
use cosell_core::settlement::SettlementPolicy;
use cosell_plugin_host::PluginRegistry;
use cosell_store::touchpoints::{IngestReport, NewTouchpoint};
use cosell_store::{Store, StoreError, Tenant};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::settle::{period_end, settle};
use crate::settings::{PluginFitSettings, PluginSettings, StorageSettings};
use conversions::conversions;

mod conversions;

/// Lines handed to the store per call: large enough for few round trips, small enough
/// to keep memory flat.
const CHUNK: usize = 5_000;

/// Refreshes the planner's statistics whenever an import has doubled what it stored since
/// the last refresh (see `Store::refresh_statistics`): eight sampled `ANALYZE`
/// passes for a million rows, instead of plans made for the near-empty tables the
/// import started with.
struct Statistics {
    refresh_at: usize,
}

impl Statistics {
    fn new() -> Self {
        Statistics { refresh_at: CHUNK }
    }

    async fn stored(&mut self, store: &Store, rows: usize) -> anyhow::Result<()> {
        if rows >= self.refresh_at {
            store
                .refresh_statistics()
                .await
                .context("cannot refresh the database's statistics")?;
            self.refresh_at = rows * 2;
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
pub enum TrackingImport {
    /// Import touchpoints: {"event_id", "partner_id", "kind", "customer_ref", "click_id",
    /// "offer_id", "occurred_at"} per line. Repeated event ids are skipped.
    Touchpoints {
        /// The JSON Lines file to import.
        file: PathBuf,
    },
    /// Import conversions and attribute them: {"merchant_id", "order_id", "customer_ref",
    /// "click_id", "occurred_at", "currency", "lines": [{"sku", "category", "quantity",
    /// "unit_price"}]} per line. Replayed orders are skipped, conflicting ones refused.
    /// Installed plugins are loaded (and attribution plugins fitted) first, so plugin
    /// models and rules apply as they do in the server.
    Conversions {
        /// The JSON Lines file to import.
        file: PathBuf,
        /// Then run settlement as of this day (YYYY-MM-DD; yesterday at the latest).
        #[arg(long, value_parser = cosell_api::days::parse_day)]
        settle_as_of: Option<chrono::NaiveDate>,
        #[command(flatten)]
        limits: PluginSettings,
        #[command(flatten)]
        fit: PluginFitSettings,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TouchpointLine {
    event_id: String,
    partner_id: uuid::Uuid,
    offer_id: Option<uuid::Uuid>,
    kind: String,
    customer_ref: Option<String>,
    click_id: Option<String>,
    #[serde(deserialize_with = "cosell_api::instants::instant")]
    occurred_at: DateTime<Utc>,
}

/// A chunk of parsed lines, each with its line number in the file (from 1).
type Chunk<T> = anyhow::Result<Vec<(usize, T)>>;

/// Reads `file` as JSON Lines in chunks on a thread of its own, with a progress bar over
/// its bytes: parsing the next chunk overlaps with storing the current one.
fn chunks<T: serde::de::DeserializeOwned + Send + 'static>(
    file: &Path,
    message: &'static str,
) -> anyhow::Result<(ProgressBar, mpsc::Receiver<Chunk<T>>)> {
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let bar = ProgressBar::new(handle.metadata()?.len());
    bar.set_style(ProgressStyle::with_template(
        "{msg:12} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
    )?);
    bar.set_message(message);
    let mut lines = BufReader::new(bar.wrap_read(handle)).lines().enumerate();
    let name = file.display().to_string();
    // Two chunks ahead at most, so memory stays flat whatever the file size.
    let (sender, receiver) = mpsc::channel(2);
    std::thread::spawn(move || {
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            for (n, line) in lines.by_ref() {
                let parsed = line
                    .map_err(anyhow::Error::from)
                    .and_then(|l| parse_line(&l, n == 0))
                    .with_context(|| format!("{name}:{}", n + 1));
                match parsed {
                    Ok(Some(item)) => chunk.push((n + 1, item)),
                    Ok(None) => {}
                    Err(e) => {
                        let _ = sender.blocking_send(Err(e));
                        return;
                    }
                }
                if chunk.len() == CHUNK {
                    break;
                }
            }
            // An error sending means the importer stopped: so does the reader.
            if chunk.is_empty() || sender.blocking_send(Ok(chunk)).is_err() {
                return;
            }
        }
    });
    Ok((bar, receiver))
}

/// One line of JSON Lines: `None` for a blank one (a trailing empty line, a gap left by
/// an editor), and a UTF-8 byte order mark at the start of the file ignored, as
/// spreadsheet exports write one. Numbering stays the file's own.
fn parse_line<T: serde::de::DeserializeOwned>(
    line: &str,
    first: bool,
) -> anyhow::Result<Option<T>> {
    let line = if first {
        line.strip_prefix('\u{feff}').unwrap_or(line)
    } else {
        line
    };
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut document = serde_json::Deserializer::from_str(line);
    serde_path_to_error::deserialize(&mut document)
        .map(Some)
        .map_err(plain)
}

/// serde_json's reason without its "at line 1 column N": each line is a document of its
/// own, so that line is always 1 and would contradict the file's line number the
/// caller puts in front. A line that is not JSON at all says so; a value of the wrong
/// shape is named by its path (`lines[0].quantity: …`), as the API names it, since a
/// line has many fields of one type.
fn plain(error: serde_path_to_error::Error<serde_json::Error>) -> anyhow::Error {
    let path = error.path().to_string();
    let error = error.into_inner();
    let text = error.to_string();
    let reason = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(r, _)| r);
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            anyhow::anyhow!("not valid JSON: {reason} at column {}", error.column())
        }
        // "." is the line itself (a field missing or unknown at its top).
        _ if path == "." => anyhow::anyhow!("{reason}"),
        _ => anyhow::anyhow!("{path}: {reason}"),
    }
}

async fn touchpoints(store: &Store, file: &Path) -> anyhow::Result<()> {
    let (bar, chunks) = chunks::<TouchpointLine>(file, "touchpoints")?;
    let mut tally = Tally::default();
    if let Err(stop) = ingest(store, &bar, chunks, &mut tally).await {
        // The chunks before the stop are stored: say how much of the file that was.
        return Err(stop.context(format!(
            "stopped after {} touchpoints accepted, {} duplicates and {} refused",
            tally.accepted, tally.duplicates, tally.rejected
        )));
    }
    bar.finish();
    println!(
        "{}",
        serde_json::json!({ "accepted": tally.accepted, "duplicates": tally.duplicates, "rejected": tally.rejected })
    );
    Ok(())
}

/// What a touchpoint import did so far.
#[derive(Default)]
struct Tally {
    accepted: usize,
    duplicates: usize,
    rejected: usize,
}

impl Tally {
    /// Counts a stored chunk's `report` and names its first refused event, if any.
    fn add(&mut self, bar: &ProgressBar, report: IngestReport) {
        if let Some(first) = report.rejected.first() {
            // On stderr whether or not the bar is drawn (it is hidden when stderr is not a
            // terminal, and `println` on a hidden bar prints nothing).
            let more = match report.rejected.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more of the same chunk)"),
            };
            bar.suspend(|| {
                eprintln!(
                    "refused event {}: {}: {}{more}",
                    first.event_id, first.code, first.message
                );
            });
        }
        self.accepted += report.accepted;
        self.duplicates += report.duplicates.len();
        self.rejected += report.rejected.len();
    }
}

/// Stores every chunk's events (each chunk its own transaction), skipping repeated ones
/// and reporting refused ones. Each chunk is checked while the one before it is written:
/// a check reads nothing the writes change (duplicates are found by the insert itself).
async fn ingest(
    store: &Store,
    bar: &ProgressBar,
    mut chunks: mpsc::Receiver<Chunk<TouchpointLine>>,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut statistics = Statistics::new();
    let mut writing: Option<JoinHandle<Result<IngestReport, StoreError>>> = None;
    let fed = async {
        while let Some(chunk) = chunks.recv().await {
            let events: Vec<NewTouchpoint> = chunk?
                .into_iter()
                .map(|(_, t)| NewTouchpoint {
                    event_id: t.event_id,
                    partner_id: PartnerId(t.partner_id),
                    offer_id: t.offer_id,
                    kind: t.kind,
                    customer_ref: t.customer_ref,
                    click_id: t.click_id,
                    occurred_at: t.occurred_at,
                })
                .collect();
            let checked = store
                .check_touchpoints(Tenant::All, &events, true, Utc::now())
                .await?;
            if let Some(previous) = writing.take() {
                tally.add(bar, written(previous).await?);
                statistics.stored(store, tally.accepted).await?;
            }
            let store = store.clone();
            writing = Some(tokio::spawn(async move {
                store.store_touchpoints(checked).await
            }));
        }
        anyhow::Ok(())
    }
    .await;
    // Whatever stopped the import, the chunk handed over before it is stored and counted;
    // the first failure is the one reported.
    let last = match writing.take() {
        Some(last) => written(last).await.map(|report| tally.add(bar, report)),
        None => Ok(()),
    };
    fed.and(last)?;
    statistics.stored(store, tally.accepted).await
}

/// The report of a chunk written by a task of its own.
async fn written(
    task: JoinHandle<Result<IngestReport, StoreError>>,
) -> anyhow::Result<IngestReport> {
    Ok(task.await.context("writing touchpoints failed")??)
}

/// `store` calling the installed plugins, loaded here and fitted on recent journeys.
async fn with_plugins(
    store: Store,
    storage: &StorageSettings,
    limits: &PluginSettings,
    fit: &PluginFitSettings,
) -> anyhow::Result<Store> {
    let registry = PluginRegistry::new(limits.host_config(&storage.data_dir));
    // A plugin that fails to load is logged; its partnerships fall back, recorded.
    cosell_api::plugins::load_all(&store, &registry)
        .await
        .context("cannot read plugin registrations")?;
    cosell_api::plugins::fit::fit_all(&store, &registry, fit.fit()).await;
    Ok(store.with_hooks(Arc::new(PluginHooks::new(registry))))
}

pub async fn run(storage: &StorageSettings, command: TrackingImport) -> anyhow::Result<()> {
    let store = super::open_store_for_bulk_load(storage).await?;
    super::closing(&store, import(storage, store.clone(), command)).await
}

async fn import(
    storage: &StorageSettings,
    store: Store,
    command: TrackingImport,
) -> anyhow::Result<()> {
    match command {
        TrackingImport::Touchpoints { file } => touchpoints(&store, &file).await,
        TrackingImport::Conversions {
            file,
            settle_as_of,
            limits,
            fit,
        } => {
            // Refused before anything is imported.
            let settle_as_of = settle_as_of.map(|d| period_end(Some(d))).transpose()?;
            let store = with_plugins(store, storage, &limits, &fit).await?;
            conversions(&store, &file).await?;
            match settle_as_of {
                Some(as_of) => settle(&store, as_of, &SettlementPolicy::default()).await,
                None => Ok(()),
            }
        }
    }
}
