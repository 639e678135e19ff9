//! Builds plugin cdylibs from the workspace with the cargo running the tests,
//! shared by the `host` test binary, the `call_overhead` bench and the API
//! tests (`tests/api`).
//!
//! A nested cargo in a `build.rs` would deadlock on the outer build's lock,
//! so the test itself runs `cargo build` into its own target directory under
//! `CARGO_TARGET_TMPDIR` and reads the library paths from the
//! `compiler-artifact` messages.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

/// Builds `packages` and returns the cdylib of each, by package name.
pub fn build_cdylibs(packages: &[&str], release: bool) -> Result<HashMap<String, PathBuf>, String> {
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-builds");
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--message-format=json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer cargo's jobserver is not ours to use.
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS");
    if release {
        command.arg("--release");
    }
    for package in packages {
        command.args(["-p", package]);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut libraries = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if message["reason"] != "compiler-artifact" || !is_cdylib {
            continue;
        }
        let name = message["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .replace('_', "-");
        let library = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(std::env::consts::DLL_SUFFIX));
        if let Some(library) = library {
            libraries.insert(name, PathBuf::from(library));
        }
    }
    match packages.iter().find(|p| !libraries.contains_key(**p)) {
        Some(missing) => Err(format!("cargo produced no cdylib for {missing}")),
        None => Ok(libraries),
    }
}
