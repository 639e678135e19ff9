//! Every way a library can fail to load is refused with its own error, and
//! nothing is registered.

use super::*;
use cosell_plugin_abi::ABI_VERSION;
use cosell_plugin_host::CallError;
use serde_json::json;

const ATTRIBUTION: &[Capability] = &[Capability::Attribution];

async fn refused(package: &str) -> LoadError {
    let (dir, registry) = registry();
    let error = install(&registry, package, ATTRIBUTION, json!({}))
        .await
        .err();
    assert!(registry.list().is_empty(), "{package} was registered");
    assert_nothing_stored(dir.path());
    error.unwrap_or_else(|| panic!("{package} was accepted"))
}

/// A refused install leaves no copy of the library (nor a half-written one) behind.
fn assert_nothing_stored(data_dir: &std::path::Path) {
    let stored: Vec<_> = std::fs::read_dir(data_dir.join("plugins"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(stored.is_empty(), "left behind: {stored:?}");
}

#[tokio::test]
async fn a_wrong_abi_version_is_refused() {
    let error = refused("fixture-wrong-abi").await;
    assert!(
        matches!(
            error,
            LoadError::AbiVersion {
                found: 999,
                expected: ABI_VERSION
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "plugin speaks ABI version 999, this host speaks 1"
    );
}

#[tokio::test]
async fn a_missing_entry_symbol_is_refused() {
    let error = refused("fixture-no-entry").await;
    assert!(
        matches!(
            error,
            LoadError::MissingSymbol {
                symbol: "cosell_plugin_entry_v1"
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_short_table_is_refused() {
    let error = refused("fixture-short-table").await;
    assert!(
        matches!(error, LoadError::ShortTable { found: 8, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_bad_manifest_is_refused() {
    let error = refused("fixture-bad-manifest").await;
    assert!(matches!(error, LoadError::BadManifest(_)), "{error}");
}

#[tokio::test]
async fn a_tampered_copy_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let (dir, registry) = registry();
    let original = cdylib("tiered-commission");
    let pinned = sha256_of(&original);
    let tampered = dir.path().join("tampered.so");
    let mut bytes = std::fs::read(&original)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&tampered, bytes)?;
    let error = registry
        .install(
            &tampered,
            &pinned,
            caps(&[Capability::Commission]),
            &json!({}),
        )
        .await;
    assert!(
        matches!(error, Err(LoadError::HashMismatch { .. })),
        "{error:?}"
    );
    assert!(registry.list().is_empty());
    assert!(
        !dir.path()
            .join("plugins")
            .join(format!("{pinned}.so"))
            .exists()
    );
    Ok(())
}

#[tokio::test]
async fn a_stored_library_swapped_after_install_is_refused_at_load()
-> Result<(), Box<dyn std::error::Error>> {
    let (dir, registry) = registry();
    let config = json!({"tiers": [{"up_to": null, "rate": "0.1"}]});
    let info = install(
        &registry,
        "tiered-commission",
        &[Capability::Commission],
        config.clone(),
    )
    .await?;
    // Swapped by rename, as a deployment tool would: rewriting the mapped
    // file in place would crash this test process with SIGBUS instead.
    let swapped = dir.path().join("swapped.so");
    std::fs::write(&swapped, b"not the library that was pinned")?;
    std::fs::rename(&swapped, &info.path)?;
    let restarted = PluginRegistry::new(HostConfig::new(dir.path()));
    let error = restarted
        .load_installed(
            info.id.as_str(),
            caps(&[Capability::Commission]),
            &config,
            true,
        )
        .await;
    assert!(
        matches!(error, Err(LoadError::HashMismatch { .. })),
        "{error:?}"
    );
    // The server starts without it and can say why.
    let reported = restarted.load_errors();
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].0, info.id.as_str());
    assert!(reported[0].1.contains("SHA-256"), "{}", reported[0].1);
    assert!(restarted.list().is_empty());
    assert_eq!(restarted.remove(&info.id), None);
    assert!(restarted.load_errors().is_empty());
    assert!(!info.path.exists());
    Ok(())
}

#[tokio::test]
async fn a_file_that_is_not_a_library_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let (dir, registry) = registry();
    let text = dir.path().join("notes.so");
    std::fs::write(&text, b"hello")?;
    let error = registry
        .install(&text, &sha256_of(&text), caps(ATTRIBUTION), &json!({}))
        .await;
    assert!(matches!(error, Err(LoadError::Open { .. })), "{error:?}");
    // The loader's own reason, about the file the operator named.
    let message = error.err().ok_or("accepted")?.to_string();
    assert_eq!(
        message,
        format!(
            "cannot load {} as a shared library: file too short",
            text.display()
        )
    );
    assert_nothing_stored(dir.path());
    Ok(())
}

#[tokio::test]
async fn an_ungranted_capability_is_refused() {
    let (dir, registry) = registry();
    let error = install(
        &registry,
        "shapley-attribution",
        &[Capability::Commission],
        json!({}),
    )
    .await;
    assert!(
        matches!(
            error,
            Err(LoadError::CapabilityNotGranted(Capability::Attribution))
        ),
        "{error:?}"
    );
    assert!(registry.list().is_empty());
    assert_nothing_stored(dir.path());
}

#[tokio::test]
async fn a_refused_configuration_fails_init() {
    let (dir, registry) = registry();
    let error = install(
        &registry,
        "tiered-commission",
        &[Capability::Commission],
        json!({"tiers": []}),
    )
    .await;
    let Err(LoadError::InitFailed(CallError::Plugin(body))) = error else {
        panic!("{error:?}")
    };
    assert_eq!(body.code, "bad_config");
    assert!(
        body.message.contains("at least one tier"),
        "{}",
        body.message
    );
    assert!(registry.list().is_empty());
    assert_nothing_stored(dir.path());
    // Installing it again with a good configuration works.
    let config = json!({"tiers": [{"up_to": null, "rate": "0.1"}]});
    let info = install(
        &registry,
        "tiered-commission",
        &[Capability::Commission],
        config,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(info.path.exists());
}

#[tokio::test]
async fn the_same_library_is_loaded_once_and_reloads_after_a_restart()
-> Result<(), Box<dyn std::error::Error>> {
    let (dir, registry) = registry();
    let info = install(&registry, "shapley-attribution", ATTRIBUTION, json!({})).await?;
    assert_eq!(info.manifest.name, "shapley-attribution");
    assert_eq!(
        info.path,
        dir.path().join("plugins").join(format!("{}.so", info.id))
    );
    let again = install(&registry, "shapley-attribution", ATTRIBUTION, json!({})).await;
    assert!(
        matches!(again, Err(LoadError::AlreadyLoaded(_))),
        "{again:?}"
    );

    let restarted = PluginRegistry::new(HostConfig::new(dir.path()));
    let reloaded = restarted
        .load_installed(info.id.as_str(), caps(ATTRIBUTION), &json!({}), false)
        .await?;
    assert_eq!(reloaded, info);
    let call = restarted
        .call_attribution(&info.id, &attribution_request(Decimal::TEN, &["a"]))
        .await;
    assert!(matches!(call, Err(CallError::Disabled(_))), "{call:?}");
    Ok(())
}
