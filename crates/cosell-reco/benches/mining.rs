//! Mining the two reference data sets: parsing, the pair model (items, pairs, lift,
//! neighbours) and the count of all frequent itemsets, on `shared/datasets` (or
//! `COSELL_DATASETS`). Compare with `benches/fpgrowth.py`, run in the same session.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use cosell_reco::{BasketFormat, MinSupport, ModelBuilder, read_baskets};
use criterion::{Criterion, criterion_group, criterion_main};

fn data(file: &str) -> (Vec<u8>, BasketFormat) {
    let dir = std::env::var_os("COSELL_DATASETS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
        PathBuf::from,
    );
    let path = dir.join(file);
    match std::fs::read(&path) {
        Ok(bytes) => (bytes, BasketFormat::from_path(&path)),
        Err(e) => panic!(
            "{} is missing ({e}); set COSELL_DATASETS to the data set folder",
            path.display()
        ),
    }
}

fn parse(bytes: &[u8], format: BasketFormat) -> ModelBuilder {
    let mut builder = ModelBuilder::new();
    if let Err(e) = read_baskets(bytes, format, |items| builder.add_basket(items)) {
        panic!("unreadable basket data: {e}");
    }
    builder
}

fn mining(c: &mut Criterion) {
    let mut group = c.benchmark_group("mining");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for (file, support) in [
        ("groceries.csv", MinSupport::BasisPoints(100)),
        ("retail.dat", MinSupport::BasisPoints(50)),
    ] {
        let (bytes, format) = data(file);
        let builder = parse(&bytes, format);
        group.bench_function(format!("{file}/parse"), |b| {
            b.iter(|| parse(black_box(&bytes), format))
        });
        group.bench_function(format!("{file}/pairs"), |b| {
            b.iter(|| black_box(&builder).snapshot(support))
        });
        group.bench_function(format!("{file}/all_itemsets"), |b| {
            b.iter(|| black_box(&builder).count_frequent_itemsets(support))
        });
    }
    group.finish();
}

criterion_group!(benches, mining);
criterion_main!(benches);
