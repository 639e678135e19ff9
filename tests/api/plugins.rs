//! Native plugins end to end: the three real plugins, built from the workspace, installed
//! into the running app through `/v1/plugins` and seen at work through the API; refusals,
//! operator-only access, disabling, and a restart that loads (or fails to load) them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::StatusCode;
use cosell_api::{ApiConfig, AppState, JwtKeys};
use cosell_plugin_host::HostConfig;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::build_plugins::build_cdylibs;
use crate::support::{AUDIENCE, ISSUER, SECRET, TestApp};

/// The real plugins and the misbehaving fixtures the attribution hooks are tried with.
const PLUGINS: &[&str] = &[
    "affiliate-feed",
    "shapley-attribution",
    "tiered-commission",
    "fixture-slow",
    "fixture-bad-weights",
    "fixture-panicking",
];

/// The cdylib of one of [`PLUGINS`], all built once per test run.
pub fn library(package: &str) -> PathBuf {
    static BUILT: OnceLock<Result<HashMap<String, PathBuf>, String>> = OnceLock::new();
    match BUILT.get_or_init(|| build_cdylibs(PLUGINS, false)) {
        Ok(built) => built[package].clone(),
        Err(error) => panic!("{error}"),
    }
}

pub fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(Sha256::digest(bytes))
}

/// Plugin limits for tests, storing plugins under `dir`.
pub fn api_config(dir: &Path) -> ApiConfig {
    let mut plugins = HostConfig::new(dir);
    plugins.call_timeout = Duration::from_secs(5);
    ApiConfig {
        plugins,
        ..ApiConfig::default()
    }
}

/// An app whose plugins live in a directory of its own.
pub async fn app() -> (tempfile::TempDir, TestApp) {
    app_with(api_config).await
}

/// An app whose plugins live in a directory of its own, with limits from `config`.
pub async fn app_with(config: impl FnOnce(&Path) -> ApiConfig) -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::with_config(config(dir.path())).await;
    (dir, app)
}

/// Installs `package` pinned to its real hash; returns the reply.
pub async fn install(
    app: &TestApp,
    package: &str,
    granted: &[&str],
    config: Value,
) -> crate::support::Reply {
    let path = library(package);
    app.post(
        "/v1/plugins",
        Some(&app.operator),
        json!({ "path": path, "sha256": sha256_of(&path), "granted": granted, "config": config }),
    )
    .await
}

async fn call(app: &TestApp, id: &str, method: &str, input: Value) -> crate::support::Reply {
    app.post(
        &format!("/v1/plugins/{id}/calls"),
        Some(&app.operator),
        json!({ "method": method, "input": input }),
    )
    .await
}

pub async fn show(app: &TestApp, id: &str) -> crate::support::Reply {
    app.get(&format!("/v1/plugins/{id}"), Some(&app.operator))
        .await
        .expect(StatusCode::OK)
}

/// Waits for the plugin's background fit (an install, enable or reconfiguration of an
/// attribution plugin starts one) to be recorded; returns the plugin as shown then.
pub async fn fitted(app: &TestApp, id: &str) -> crate::support::Reply {
    for _ in 0..400 {
        let shown = show(app, id).await;
        if !shown.body["stats"]["last_fit"].is_null() {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no fit of plugin {id} was recorded")
}

/// `POST /v1/plugins/{id}/enable` or `…/disable`.
pub async fn switch(app: &TestApp, id: &str, action: &str) -> crate::support::Reply {
    app.post(
        &format!("/v1/plugins/{id}/{action}"),
        Some(&app.operator),
        json!({}),
    )
    .await
    .expect(StatusCode::OK)
}

async fn assert_nothing_registered(app: &TestApp) {
    let listed = app
        .get("/v1/plugins", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"], json!([]));
}

pub fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("{value} is not a decimal string"))
}

fn conversion(amount: &str) -> Value {
    json!({ "id": "order-1", "amount": amount, "currency": "EUR", "occurred_at": "2026-11-20T10:00:00Z" })
}

#[tokio::test]
async fn affiliate_feed_adds_its_products_to_the_owners_catalog() {
    let (dir, app) = app().await;
    let owner = app.partner("feedco").await;
    let feed = dir.path().join("feed.csv");
    std::fs::write(
        &feed,
        "sku,name,price,currency,url,complements,accessories\n\
         cam-1,Camera,499.00,EUR,https://shop.example/cam-1,bag-1,\n\
         bag-1,Camera bag,49.90,EUR,,cam-1,\n\
         bad-1,Broken,-3,EUR,,,\n\
         fine-1,Too fine,199.999,EUR,,,\n\
         yen-1,Half a yen,100.5,JPY,,,\n\
         odd-1,Unknown money,10,ZZZ,,,\n",
    )
    .unwrap();

    let installed = install(
        &app,
        "affiliate-feed",
        &["catalog"],
        json!({ "path": feed }),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(installed.body["name"], "affiliate-feed");
    assert_eq!(installed.body["state"], "enabled");
    assert_eq!(installed.body["capabilities"], json!(["catalog"]));
    let id = installed.id();

    let contributed = app
        .post(
            &format!("/v1/plugins/{id}/contributions"),
            Some(&app.operator),
            json!({ "partner_id": owner.id }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(contributed.body["products_created"], 2);
    // Listed from both ends in the feed, the complementary pair is one relation.
    assert_eq!(contributed.body["relations_created"], 1);
    // Rows the catalog would refuse are rejected one by one, not the whole contribution.
    let rejected: Vec<&Value> = contributed.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["line"])
        .collect();
    assert_eq!(rejected, [4, 5, 6, 7]);

    let products = app
        .get("/v1/products", Some(&owner.token))
        .await
        .expect(StatusCode::OK);
    let mut skus: Vec<&str> = products.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    skus.sort_unstable();
    assert_eq!(skus, ["bag-1", "cam-1"]);
    let camera = &products.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "cam-1")
        .unwrap()
        .clone();
    assert_eq!(decimal(&camera["price"]), Decimal::new(49900, 2));
    assert_eq!(camera["category"], "affiliate-feed");

    let shown = show(&app, &id).await;
    assert_eq!(shown.body["stats"]["calls"], 1);
    assert_eq!(shown.body["stats"]["failures"], 0);
    assert!(shown.body["stats"]["p50_us"].is_u64());
}

#[tokio::test]
async fn shapley_attribution_fits_journeys_and_credits_by_shapley_value() {
    let (_dir, app) = app().await;
    let id = install(&app, "shapley-attribution", &["attribution"], json!({}))
        .await
        .expect(StatusCode::CREATED)
        .id();
    // Installing fits it in the background, on the (here empty) journeys of the window.
    let installed = fitted(&app, &id).await;
    assert_eq!(installed.body["stats"]["last_fit"]["outcome"], "fitted");
    assert_eq!(installed.body["stats"]["last_fit"]["journeys"], 0);

    // v({a}) = 1/2, v({b}) = 0, v({a, b}) = 1, so φa = ½·½ + ½·(1 − 0) = 0.75 and φb = 0.25.
    let journey =
        |partners: &[&str], converted| json!({ "partners": partners, "converted": converted });
    let journeys = [
        journey(&["a"], true),
        journey(&["a"], false),
        journey(&["b"], false),
        journey(&["b"], false),
        journey(&["a", "b"], true),
        journey(&["b", "a"], true),
    ];
    let fitted = call(
        &app,
        &id,
        "attribution.fit",
        json!({ "journeys": journeys }),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(fitted.body["output"]["journeys"], 6);

    let touchpoint = |partner: &str| json!({ "partner_id": partner, "at": "2026-11-19T10:00:00Z" });
    let attributed = call(
        &app,
        &id,
        "attribution.attribute",
        json!({ "conversion": conversion("100.00"), "touchpoints": [touchpoint("a"), touchpoint("b")] }),
    )
    .await
    .expect(StatusCode::OK);
    let weights: HashMap<&str, Decimal> = attributed.body["output"]["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["partner_id"].as_str().unwrap(), decimal(&w["weight"])))
        .collect();
    assert_eq!(weights["a"], Decimal::new(75, 2));
    assert_eq!(weights["b"], Decimal::new(25, 2));

    let shown = show(&app, &id).await;
    // The install's fit, the explicit fit and the attribution.
    assert_eq!(shown.body["stats"]["calls"], 3);
    assert_eq!(shown.body["stats"]["last_fit"]["journeys"], 6);
    assert!(shown.body["stats"]["p99_us"].is_u64());
}

#[tokio::test]
async fn tiered_commission_pays_each_band_at_its_rate() {
    let (_dir, app) = app().await;
    let tiers = json!({ "tiers": [{ "up_to": "10000", "rate": "0.05" }, { "up_to": null, "rate": "0.07" }] });
    let id = install(&app, "tiered-commission", &["commission"], tiers.clone())
        .await
        .expect(StatusCode::CREATED)
        .id();

    let computed = call(
        &app,
        &id,
        "commission.compute",
        json!({
            "conversion": conversion("1000.00"), "partner_id": "p1", "weight": "1",
            "attributed_amount": "1000.00",
            "period": { "attributed_revenue": "9600.00", "conversions": 12 }
        }),
    )
    .await
    .expect(StatusCode::OK);
    let amounts: Vec<Decimal> = computed.body["output"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| decimal(&line["amount"]))
        .collect();
    assert_eq!(amounts, [Decimal::new(2000, 2), Decimal::new(4200, 2)]);

    // A configuration the plugin refuses leaves the old one in force.
    app.put(
        &format!("/v1/plugins/{id}/config"),
        Some(&app.operator),
        json!({ "config": { "tiers": [] } }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "config_refused");
    let shown = show(&app, &id).await;
    assert_eq!(shown.body["config"], tiers);
}

/// Who an attribution plugin credits, through `/calls`, for a sale touched by `a` then `b`.
async fn credited(app: &TestApp, id: &str) -> String {
    let touchpoint = |partner: &str| json!({ "partner_id": partner, "at": "2026-11-19T10:00:00Z" });
    let answer = call(
        app,
        id,
        "attribution.attribute",
        json!({ "conversion": conversion("100.00"), "touchpoints": [touchpoint("a"), touchpoint("b")] }),
    )
    .await
    .expect(StatusCode::OK);
    let weights = answer.body["output"]["weights"].as_array().unwrap();
    assert_eq!(weights.len(), 1, "{weights:?}");
    weights[0]["partner_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_refused_reconfiguration_stays_refused_after_its_init_finishes() {
    let (_dir, app) = app_with(|dir| {
        let mut config = api_config(dir);
        config.plugins.slow_call_timeout = Duration::from_millis(500);
        config
    })
    .await;
    let old = json!({ "sleep_ms": 0 });
    let id = install(&app, "fixture-slow", &["attribution"], old.clone())
        .await
        .expect(StatusCode::CREATED)
        .id();
    assert_eq!(credited(&app, &id).await, "a");
    let refused = app
        .put(
            &format!("/v1/plugins/{id}/config"),
            Some(&app.operator),
            json!({ "config": { "sleep_ms": 0, "credit_last": true, "init_sleep_ms": 1_000 } }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "config_refused");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        refused.body
    );
    // Well after the init has finished: what GET shows is what computes.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let shown = show(&app, &id).await;
    assert_eq!(shown.body["config"], old);
    assert_eq!(shown.body["state"], "enabled");
    assert_eq!(credited(&app, &id).await, "a");
}

#[tokio::test]
async fn a_fit_that_panics_leaves_the_plugin_working_with_its_previous_model() {
    let (_dir, app) = app_with(|dir| {
        let mut config = api_config(dir);
        // A panic's report (a backtrace under RUST_BACKTRACE) takes a while in debug builds.
        config.plugins.call_timeout = Duration::from_secs(30);
        config
    })
    .await;
    let id = install(
        &app,
        "fixture-panicking",
        &["attribution"],
        json!({ "panic_in": "fit" }),
    )
    .await
    .expect(StatusCode::CREATED)
    .id();
    // Installing fits it in the background (on no journeys); that fit comes first.
    fitted(&app, &id).await;
    let journey = |partners: &[&str]| json!({ "partners": partners, "converted": true });
    call(
        &app,
        &id,
        "attribution.fit",
        json!({ "journeys": [journey(&["b"])] }),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(credited(&app, &id).await, "b");
    let failed = call(
        &app,
        &id,
        "attribution.fit",
        json!({ "journeys": [journey(&["a"]), journey(&["panic"])] }),
    )
    .await
    .expect_problem(StatusCode::BAD_GATEWAY, "plugin_failed");
    assert!(
        failed.body["detail"]
            .as_str()
            .unwrap()
            .contains("fit panics on purpose"),
        "{}",
        failed.body
    );
    for _ in 0..6 {
        assert_eq!(credited(&app, &id).await, "b");
    }
    let shown = show(&app, &id).await;
    assert_eq!(shown.body["state"], "enabled");
    assert_eq!(shown.body["stats"]["last_fit"]["outcome"], "failed");
}

#[tokio::test]
async fn a_configuration_is_optional_and_any_json_the_plugin_accepts() {
    let (_dir, app) = app().await;
    let path = library("fixture-panicking");
    let installed = app
        .post(
            "/v1/plugins",
            Some(&app.operator),
            json!({ "path": path, "sha256": sha256_of(&path), "granted": ["attribution"] }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(installed.body["config"], json!({}));
    // Not an object: the plugin decides what its configuration is.
    let id = installed.id();
    let configured = app
        .put(
            &format!("/v1/plugins/{id}/config"),
            Some(&app.operator),
            json!({ "config": null }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(configured.body["config"], Value::Null);
}

#[tokio::test]
async fn a_hash_mismatch_or_ungranted_capability_registers_nothing() {
    let (_dir, app) = app().await;
    let path = library("tiered-commission");
    let wrong = "0".repeat(64);
    let refused = app
        .post(
            "/v1/plugins",
            Some(&app.operator),
            json!({ "path": path, "sha256": wrong, "granted": ["commission"] }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert!(refused.body["detail"].as_str().unwrap().contains(&wrong));

    install(&app, "tiered-commission", &["attribution"], json!({}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "capability_not_granted");

    assert_nothing_registered(&app).await;
}

/// The file is checked before the pin is looked up: another file, or none, pinned with an
/// installed plugin's digest is the operator's mistake, not "already installed".
#[tokio::test]
async fn a_wrong_file_pinned_as_an_installed_plugin_is_a_mismatch() {
    let (_dir, app) = app().await;
    let five_percent = json!({ "tiers": [{ "up_to": null, "rate": "0.05" }] });
    let tiered = || {
        install(
            &app,
            "tiered-commission",
            &["commission"],
            five_percent.clone(),
        )
    };
    tiered().await.expect(StatusCode::CREATED);
    let pin = sha256_of(&library("tiered-commission"));
    for (path, code) in [
        (library("shapley-attribution"), "hash_mismatch"),
        (
            std::path::PathBuf::from("/nonexistent/lib.so"),
            "plugin_file_unreadable",
        ),
    ] {
        app.post(
            "/v1/plugins",
            Some(&app.operator),
            json!({ "path": path, "sha256": pin, "granted": ["commission"] }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    // The file itself again: installed already.
    tiered()
        .await
        .expect_problem(StatusCode::CONFLICT, "plugin_installed");
}

#[tokio::test]
async fn partners_may_not_touch_plugins() {
    let (_dir, app) = app().await;
    let partner = app.partner("curious").await;
    let path = library("tiered-commission");
    app.post(
        "/v1/plugins",
        Some(&partner.token),
        json!({ "path": path, "sha256": sha256_of(&path), "granted": ["commission"] }),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/v1/plugins", Some(&partner.token))
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_nothing_registered(&app).await;
}

#[tokio::test]
async fn a_disabled_plugin_takes_no_calls_until_enabled() {
    let (_dir, app) = app().await;
    let tiers = json!({ "tiers": [{ "up_to": null, "rate": "0.1" }] });
    let id = install(&app, "tiered-commission", &["commission"], tiers)
        .await
        .expect(StatusCode::CREATED)
        .id();
    let input = json!({
        "conversion": conversion("50.00"), "partner_id": "p1", "weight": "1",
        "attributed_amount": "50.00", "period": { "attributed_revenue": "0", "conversions": 0 }
    });

    let disabled = switch(&app, &id, "disable").await;
    assert_eq!(disabled.body["state"], "disabled");
    call(&app, &id, "commission.compute", input.clone())
        .await
        .expect_problem(StatusCode::CONFLICT, "plugin_disabled");
    let shown = show(&app, &id).await;
    assert_eq!(shown.body["stats"]["calls"], 0);

    switch(&app, &id, "enable").await;
    call(&app, &id, "commission.compute", input)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_restart_loads_registrations_and_reports_the_one_that_fails() {
    let (dir, mut app) = app().await;
    let shapley = install(&app, "shapley-attribution", &["attribution"], json!({}))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let tiers = json!({ "tiers": [{ "up_to": null, "rate": "0.1" }] });
    let tiered = install(&app, "tiered-commission", &["commission"], tiers)
        .await
        .expect(StatusCode::CREATED)
        .id();
    switch(&app, &shapley, "disable").await;
    // Someone swaps the stored library while the server is down (by rename, as a
    // careful attacker would: rewriting a mapped file in place would crash this test).
    let stored = dir.path().join("plugins").join(format!("{tiered}.so"));
    std::fs::remove_file(&stored).unwrap();
    std::fs::write(&stored, b"not the pinned library").unwrap();

    let jwt = JwtKeys::new(&SecretString::from(SECRET), &[], ISSUER, AUDIENCE, 900);
    let restarted = AppState::new(app.store.clone(), jwt, api_config(dir.path()));
    let loaded = cosell_api::plugins::load_all(&app.store, restarted.plugins())
        .await
        .unwrap();
    assert_eq!(loaded, 1);
    app.router = cosell_api::app(restarted);

    let listed = app
        .get("/v1/plugins", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    let by_id: HashMap<&str, &Value> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p))
        .collect();
    assert_eq!(by_id[shapley.as_str()]["state"], "disabled");
    assert_eq!(by_id[tiered.as_str()]["state"], "failed");
    let reason = by_id[tiered.as_str()]["load_error"].as_str().unwrap();
    assert!(reason.contains("SHA-256"), "{reason}");

    app.get("/healthz", None).await.expect(StatusCode::OK);
    // It exists but takes no calls: a conflict saying why, not "no such plugin".
    let unloaded = app
        .post(
            &format!("/v1/plugins/{tiered}/fit"),
            Some(&app.operator),
            json!({}),
        )
        .await
        .expect_problem(StatusCode::CONFLICT, "plugin_not_loaded");
    let detail = unloaded.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("failed to load") && detail.contains("SHA-256"),
        "{detail}"
    );
    call(&app, &tiered, "commission.compute", json!({}))
        .await
        .expect_problem(StatusCode::CONFLICT, "plugin_not_loaded");
    // Installing it again is refused: it would replace the library the registration names.
    install(&app, "tiered-commission", &["commission"], json!({}))
        .await
        .expect_problem(StatusCode::CONFLICT, "plugin_installed");
    assert!(stored.exists());
    app.delete(&format!("/v1/plugins/{tiered}"), Some(&app.operator))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert!(!stored.exists());
    app.get(&format!("/v1/plugins/{tiered}"), Some(&app.operator))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
}
