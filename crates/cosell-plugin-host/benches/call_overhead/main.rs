//! Overhead of one attribution call through the plugin ABI against the same
//! model called in-process: five touchpoints, JSON both ways.
//!
//! Run with `cargo bench -p cosell-plugin-host`; the numbers are recorded in
//! `docs/benchmarks.md`.

#[path = "../../tests/support/build_plugins.rs"]
mod build_plugins;
mod cpu_time;
#[path = "../../tests/support/requests.rs"]
mod requests;

use cosell_plugin_abi::{
    AttributeRequest, AttributeResponse, Capability, FitRequest, Journey, json, method,
};
use cosell_plugin_host::{HostConfig, NativePlugin, PluginRegistry, Sha256Hex, Transport};
use cosell_plugin_sdk::{AttributionModel, Plugin};
use cpu_time::ThreadCpuTime;
use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use shapley_attribution::{ShapleyAttribution, ShapleyConfig};
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

const PARTNERS: [&str; 5] = ["p1", "p2", "p3", "p4", "p5"];

/// Journeys over every prefix of the five partners, so each coalition on a
/// five-partner path has a rate.
fn journeys() -> FitRequest {
    let journeys = (1..=PARTNERS.len())
        .flat_map(|size| {
            (0..10).map(move |i| Journey {
                partners: PARTNERS[..size].iter().map(|p| (*p).to_owned()).collect(),
                converted: i < size,
            })
        })
        .collect();
    FitRequest { journeys }
}

/// The model three ways: in-process, loaded through the ABI, registered in a
/// registry. Built once, shared by both measurements.
struct Fixtures {
    request: AttributeRequest,
    direct: ShapleyAttribution,
    native: NativePlugin,
    runtime: tokio::runtime::Runtime,
    registry: PluginRegistry,
    id: cosell_plugin_host::PluginId,
    _data_dir: tempfile::TempDir,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let libraries = build_plugins::build_cdylibs(&["shapley-attribution"], true)
            .unwrap_or_else(|e| panic!("{e}"));
        let library = &libraries["shapley-attribution"];
        let bytes = std::fs::read(library).unwrap_or_else(|e| panic!("{e}"));
        let sha256 = hex::encode(Sha256::digest(bytes));
        let fit = serde_json::to_vec(&journeys()).unwrap_or_else(|e| panic!("{e}"));

        let mut direct = ShapleyAttribution::init(ShapleyConfig { samples: 100 })
            .unwrap_or_else(|e| panic!("{e}"));
        direct.fit(journeys()).unwrap_or_else(|e| panic!("{e}"));

        let pin = Sha256Hex::parse(&sha256).unwrap_or_else(|e| panic!("{e}"));
        let native = NativePlugin::open(library, &pin).unwrap_or_else(|e| panic!("{e}"));
        native
            .init(br#"{"samples": 100}"#, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        native
            .call(method::ATTRIBUTION_FIT, &fit, 1 << 20)
            .unwrap_or_else(|e| panic!("{e}"));

        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let registry = PluginRegistry::new(HostConfig::new(data_dir.path()));
        let granted = [Capability::Attribution].into_iter().collect();
        let config = serde_json::json!({"samples": 100});
        let info = runtime
            .block_on(registry.install(library, &sha256, granted, &config))
            .unwrap_or_else(|e| panic!("{e}"));
        runtime
            .block_on(registry.fit(&info.id, &journeys()))
            .unwrap_or_else(|e| panic!("{e}"));
        Fixtures {
            request: requests::attribution_request(Decimal::new(12000, 2), &PARTNERS),
            direct,
            native,
            runtime,
            registry,
            id: info.id,
            _data_dir: data_dir,
        }
    })
}

/// The single-threaded cases, under any measurement.
fn single_threaded<M: Measurement>(group: &mut BenchmarkGroup<'_, M>, f: &'static Fixtures) {
    group
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("in_process", |b| b.iter(|| in_process(f)));
    // The same JSON work as through the ABI, without crossing it: what the
    // message format costs, as opposed to the boundary.
    group.bench_function("in_process_json_both_ways", |b| {
        b.iter(|| {
            let input = json::encode(black_box(&f.request)).unwrap_or_else(|e| panic!("{e}"));
            let parsed: AttributeRequest = json::decode(&input).unwrap_or_else(|e| panic!("{e}"));
            let response = f
                .direct
                .attribute(&parsed)
                .unwrap_or_else(|e| panic!("{e}"));
            let output = json::encode(&response).unwrap_or_else(|e| panic!("{e}"));
            json::decode::<AttributeResponse>(&output).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.bench_function("through_abi", |b| b.iter(|| through_abi(f)));
}

/// The model's `attribute`, called directly.
fn in_process(f: &Fixtures) -> AttributeResponse {
    f.direct
        .attribute(black_box(&f.request))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The same model through the C table: request → JSON, `call`, JSON → response.
fn through_abi(f: &Fixtures) -> AttributeResponse {
    let input = json::encode(black_box(&f.request)).unwrap_or_else(|e| panic!("{e}"));
    let output = f
        .native
        .call(method::ATTRIBUTION_ATTRIBUTE, &input, 1 << 20)
        .unwrap_or_else(|e| panic!("{e}"));
    json::decode::<AttributeResponse>(&output).unwrap_or_else(|e| panic!("{e}"))
}

/// `through_abi` minus `in_process` in one measurement: batches of each
/// alternate, so both see the same load, and their CPU-time difference is
/// summed. On a shared machine this is steadier than subtracting two
/// medians taken seconds apart.
fn paired_overhead(group: &mut BenchmarkGroup<'_, ThreadCpuTime>, f: &'static Fixtures) {
    const BATCH: u64 = 32;
    group.bench_function("abi_overhead_paired", |b| {
        b.iter_custom(|iters| {
            let (mut abi, mut direct) = (Duration::ZERO, Duration::ZERO);
            for batch in (0..iters).step_by(BATCH as usize) {
                let calls = BATCH.min(iters - batch);
                let started = cpu_time::now();
                (0..calls).for_each(|_| drop(black_box(through_abi(f))));
                let switched = cpu_time::now();
                (0..calls).for_each(|_| drop(black_box(in_process(f))));
                abi += switched - started;
                direct += cpu_time::now() - switched;
            }
            abi.saturating_sub(direct)
        })
    });
}

fn wall_time(c: &mut Criterion) {
    let f = fixtures();
    let mut group = c.benchmark_group("attribution_5_touchpoints");
    single_threaded(&mut group, f);
    // Crosses threads (the blocking pool), so only wall time means anything.
    group.bench_function("through_registry", |b| {
        b.iter(|| {
            f.runtime
                .block_on(f.registry.call_attribution(&f.id, black_box(&f.request)))
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.finish();
}

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("attribution_5_touchpoints_cpu");
    single_threaded(&mut group, fixtures());
    paired_overhead(&mut group, fixtures());
    group.finish();
    json_parts(c, fixtures());
}

/// The four JSON steps of a call on their own: together they are the
/// difference between `through_abi` and `in_process`.
fn json_parts(c: &mut Criterion<ThreadCpuTime>, f: &'static Fixtures) {
    let response = f
        .direct
        .attribute(&f.request)
        .unwrap_or_else(|e| panic!("{e}"));
    let request_bytes = json::encode(&f.request).unwrap_or_else(|e| panic!("{e}"));
    let response_bytes = json::encode(&response).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("attribution_json_parts_cpu");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("encode_request", |b| {
        b.iter(|| json::encode(black_box(&f.request)).unwrap_or_else(|e| panic!("{e}")))
    });
    group.bench_function("decode_request", |b| {
        b.iter(|| {
            json::decode::<AttributeRequest>(black_box(&request_bytes))
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.bench_function("encode_response", |b| {
        b.iter(|| json::encode(black_box(&response)).unwrap_or_else(|e| panic!("{e}")))
    });
    group.bench_function("decode_response", |b| {
        b.iter(|| {
            json::decode::<AttributeResponse>(black_box(&response_bytes))
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.finish();
}

criterion_group!(wall, wall_time);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu_time
}
criterion_main!(wall, cpu);
