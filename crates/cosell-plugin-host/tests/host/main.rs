//! Integration tests of the plugin host against real cdylibs: the three
//! plugins and the negative fixtures, built once from the workspace.

#[path = "../support/build_plugins.rs"]
mod build_plugins;
mod calls;
mod loading;
mod plugins;
#[path = "../support/requests.rs"]
mod requests;

use cosell_plugin_abi::Capability;
use cosell_plugin_host::{HostConfig, LoadError, LoadedPluginInfo, PluginRegistry};
use requests::attribution_request;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const PACKAGES: &[&str] = &[
    "affiliate-feed",
    "shapley-attribution",
    "tiered-commission",
    "fixture-wrong-abi",
    "fixture-no-entry",
    "fixture-short-table",
    "fixture-bad-manifest",
    "fixture-panicking",
    "fixture-slow",
    "fixture-bad-weights",
    "fixture-unconfirmed-init",
];

/// The cdylib of `package`, building all of them on first use.
fn cdylib(package: &str) -> PathBuf {
    static BUILT: OnceLock<Result<HashMap<String, PathBuf>, String>> = OnceLock::new();
    match BUILT.get_or_init(|| build_plugins::build_cdylibs(PACKAGES, false)) {
        Ok(libraries) => libraries[package].clone(),
        Err(error) => panic!("{error}"),
    }
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(
        std::fs::read(path).unwrap_or_else(|e| panic!("{e}")),
    ))
}

/// A registry in a fresh data directory, with limits small enough for tests:
/// 200 ms calls, quarantine after 3 consecutive failures.
fn registry() -> (tempfile::TempDir, PluginRegistry) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = HostConfig::new(dir.path());
    config.call_timeout = Duration::from_millis(200);
    config.failure_threshold = 3;
    (dir, PluginRegistry::new(config))
}

fn caps(list: &[Capability]) -> BTreeSet<Capability> {
    list.iter().copied().collect()
}

/// Installs `package`'s library, pinned to its real hash.
async fn install(
    registry: &PluginRegistry,
    package: &str,
    granted: &[Capability],
    config: serde_json::Value,
) -> Result<LoadedPluginInfo, LoadError> {
    let library = cdylib(package);
    registry
        .install(&library, &sha256_of(&library), caps(granted), &config)
        .await
}
