//! `cosell import conversions FILE`: conversions checked, attributed and stored chunk by
//! chunk through `ConversionImport`, with every refusal named by the file's line.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;

use anyhow::bail;
use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_store::conversion_import::ConversionImport;
use cosell_store::conversions::{NewConversion, NewLine, Recorded, conversion_of_field};
use cosell_store::{Store, StoreError, Tenant};
use rust_decimal::Decimal;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{Chunk, Statistics, chunks};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaleLineIn {
    product_id: Option<uuid::Uuid>,
    sku: Option<String>,
    category: Option<String>,
    quantity: i64,
    unit_price: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConversionLine {
    merchant_id: uuid::Uuid,
    order_id: String,
    customer_ref: String,
    click_id: Option<String>,
    #[serde(deserialize_with = "cosell_api::instants::instant")]
    occurred_at: DateTime<Utc>,
    currency: String,
    lines: Vec<SaleLineIn>,
}

pub(super) async fn conversions(store: &Store, file: &Path) -> anyhow::Result<()> {
    let (bar, chunks) = chunks::<ConversionLine>(file, "conversions")?;
    let name = file.display().to_string();
    let mut counts = Counts::new(&name);
    // Checks each chunk while the one before it is written (see `ConversionImport`).
    let mut import = ConversionImport::new(store.clone());
    let fed = feed(store, &name, chunks, &mut import, &mut counts).await;
    // Whatever stopped the import, the chunks handed over before it are stored.
    let finished = import
        .finish()
        .await
        .map_err(anyhow::Error::from)
        .and_then(|stored| counts.add(&stored));
    if let Err(stop) = fed.and(finished) {
        return Err(stop.context(format!(
            "stopped after {} conversions created and {} replayed",
            counts.created, counts.replayed
        )));
    }
    bar.finish();
    println!(
        "{}",
        serde_json::json!({ "created": counts.created, "replayed": counts.replayed })
    );
    Ok(())
}

/// Hands every chunk of `file` to `import`, one merchant's conversions at a time, and
/// counts what is stored.
async fn feed(
    store: &Store,
    file: &str,
    mut chunks: mpsc::Receiver<Chunk<ConversionLine>>,
    import: &mut ConversionImport,
    counts: &mut Counts<'_>,
) -> anyhow::Result<()> {
    let mut statistics = Statistics::new();
    let mut merchants = BTreeSet::new();
    while let Some(chunk) = chunks.recv().await {
        let mut chunk = chunk?;
        // The store takes one merchant per call; the sort keeps each one's lines in order.
        chunk.sort_by_key(|(_, c)| c.merchant_id);
        for group in chunk.chunk_by(|(_, a), (_, b)| a.merchant_id == b.merchant_id) {
            let (first_line, first) = &group[0];
            let merchant = PartnerId(first.merchant_id);
            if merchants.insert(merchant) {
                match store.get_partner(Tenant::All, merchant).await {
                    Err(StoreError::NotFound(_)) => bail!(
                        "{file}:{first_line}: merchant_id {} is not a partner",
                        merchant.0
                    ),
                    other => other?,
                };
            }
            let lines: Vec<usize> = group.iter().map(|(n, _)| *n).collect();
            let batch = group.iter().map(|(_, c)| new_conversion(c)).collect();
            let stored = import
                .record(merchant, batch, Utc::now())
                .await
                .map_err(|e| at_lines(e, file, &lines))?;
            counts.add(&stored)?;
            counts.handed(lines);
        }
        statistics.stored(store, counts.created).await?;
    }
    Ok(())
}

/// Names the file's lines in a refused batch's errors, which name the batch's conversions
/// by their place in it (`conversion_of_field`).
fn at_lines(error: StoreError, file: &str, lines: &[usize]) -> anyhow::Error {
    let StoreError::Invalid(errors) = error else {
        return error.into();
    };
    let described: Vec<String> = errors
        .0
        .iter()
        .map(|e| {
            let (index, field) = conversion_of_field(&e.field);
            let line = lines.get(index).copied().unwrap_or_default();
            format!("{file}:{line}: {field}: {}", e.message)
        })
        .collect();
    anyhow::anyhow!(described.join("; "))
}

/// What the import did with the conversions stored so far, and the file's lines of those
/// handed over and not stored yet, in order.
struct Counts<'f> {
    file: &'f str,
    created: usize,
    replayed: usize,
    waiting: VecDeque<usize>,
}

impl<'f> Counts<'f> {
    fn new(file: &'f str) -> Self {
        Counts {
            file,
            created: 0,
            replayed: 0,
            waiting: VecDeque::new(),
        }
    }

    /// `lines` were handed over; their outcomes come back in the same order.
    fn handed(&mut self, lines: Vec<usize>) {
        self.waiting.extend(lines);
    }

    /// Counts `stored`; an order imported before with another body stops the import.
    fn add(&mut self, stored: &[Recorded]) -> anyhow::Result<()> {
        let mut conflict = None;
        for outcome in stored {
            let line = self.waiting.pop_front().unwrap_or_default();
            match outcome {
                Recorded::Created(_) => self.created += 1,
                Recorded::Replayed(_) => self.replayed += 1,
                Recorded::Conflict(id) => conflict = conflict.or(Some((line, *id))),
            }
        }
        match conflict {
            Some((line, id)) => bail!(
                "{}:{line}: this order was imported before with another body (conversion {id})",
                self.file
            ),
            None => Ok(()),
        }
    }
}

fn new_conversion(c: &ConversionLine) -> NewConversion {
    NewConversion {
        order_id: c.order_id.clone(),
        customer_ref: c.customer_ref.clone(),
        click_id: c.click_id.clone(),
        occurred_at: c.occurred_at,
        currency: c.currency.clone(),
        lines: c
            .lines
            .iter()
            .map(|l| NewLine {
                product_id: l.product_id,
                sku: l.sku.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
            .collect(),
    }
}
