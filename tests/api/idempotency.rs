//! Idempotency-Key: retries replay the first success; another body under the same key is a 409.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use cosell_api::ApiConfig;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

use crate::plugins;
use crate::sales::{minutes, order, set_model, touch};
use crate::support::{Reply, TestApp};

/// Creates a product as `token` under the `Idempotency-Key` `key`.
async fn create(app: &TestApp, token: &str, key: &str, sku: &str, price: &str) -> Reply {
    let body = json!({ "sku": sku, "title": "t", "category": "c", "price": price, "unit_cost": "1", "currency": "EUR" });
    app.call(
        Method::POST,
        "/v1/products",
        Some(token),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn a_retried_create_is_replayed_not_repeated() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let first = create(&app, &a.token, "order-42", "P", "10")
        .await
        .expect(StatusCode::CREATED);
    let again = create(&app, &a.token, "order-42", "P", "10")
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first.body, again.body, "the replay is the first response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // With the ETag the client needs for its next If-Match.
    assert_eq!(first.etag(), "\"1\"");
    assert_eq!(again.etag(), first.etag());
    assert_eq!(again.headers.get("location"), first.headers.get("location"));
    let listed = app
        .get("/v1/products", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    create(&app, &a.token, "order-42", "P", "11")
        .await
        .expect_problem(StatusCode::CONFLICT, "idempotency_key_reused");
}

#[tokio::test]
async fn the_same_document_formatted_differently_is_the_same_request() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let send = |text: &'static str| {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/v1/products")
            .header("authorization", format!("Bearer {}", a.token))
            .header("content-type", "application/json")
            .header("idempotency-key", "k-1")
            .body(axum::body::Body::from(text))
            .unwrap();
        app.send(request)
    };
    let first = send(
        r#"{"sku":"P","title":"t","category":"c","price":"10","unit_cost":"1","currency":"EUR"}"#,
    )
    .await
    .expect(StatusCode::CREATED);
    // Pretty-printed, keys in another order: replayed, not a conflict.
    let again = send(
        r#"{
          "currency": "EUR", "unit_cost": "1",
          "sku": "P", "title": "t", "category": "c", "price": "10"
        }"#,
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(first.body, again.body);
}

#[tokio::test]
async fn a_failed_request_does_not_burn_its_key() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    create(&app, &a.token, "k1", "P", "-1")
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    create(&app, &a.token, "k1", "P", "1")
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn keys_belong_to_the_caller() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let b = app.partner("bolt").await;
    let from_a = create(&app, &a.token, "same-key", "P", "1")
        .await
        .expect(StatusCode::CREATED);
    let from_b = create(&app, &b.token, "same-key", "P", "1")
        .await
        .expect(StatusCode::CREATED);
    assert_ne!(
        from_a.id(),
        from_b.id(),
        "B must never receive A's stored response"
    );
    assert!(from_b.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn oversized_keys_are_refused() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    create(&app, &a.token, &"k".repeat(256), "P", "1")
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
}

#[tokio::test]
async fn a_write_stopped_by_the_timeout_frees_its_key() {
    let (_dir, app) = plugins::app_with(|dir| ApiConfig {
        request_timeout: Duration::from_secs(1),
        ..plugins::api_config(dir)
    })
    .await;
    let merchant = app.partner("shop").await;
    let referrer = app.partner("alpha").await;
    app.partnership(&merchant, &referrer).await;
    let slow = plugins::install(
        &app,
        "fixture-slow",
        &["attribution"],
        json!({ "sleep_ms": 3_000 }),
    )
    .await
    .expect(StatusCode::CREATED)
    .id();
    app.call(
        Method::PUT,
        "/v1/attribution/default-model",
        Some(&merchant.token),
        Some(json!({ "model": "linear", "plugin_id": slow })),
        &[],
    )
    .await
    .expect(StatusCode::OK);
    touch(&app, &referrer, "t-1", "click", "c1", minutes(-60)).await;
    let sale = order("o-1", "c1", minutes(-1), &[("A", 1, "10.00")]);
    let keyed = || {
        app.call(
            Method::POST,
            "/v1/conversions",
            Some(&merchant.token),
            Some(sale.clone()),
            &[("idempotency-key", "sale-1")],
        )
    };
    keyed()
        .await
        .expect_problem(StatusCode::REQUEST_TIMEOUT, "request_timeout");
    set_model(&app, &merchant, "linear").await;
    // The dropped request releases its claim in the background: wait for it, briefly.
    let mut retried = keyed().await;
    for _ in 0..100 {
        if retried.status != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        retried = keyed().await;
    }
    let retried = retried.expect(StatusCode::CREATED);
    assert!(retried.headers.get("idempotent-replayed").is_none());
}

/// Leaves every idempotency record as a crash mid-request would: claimed at `at`, never
/// completed.
async fn unfinish_claims(app: &TestApp, at: DateTime<Utc>) {
    let db = Database::connect(&app.database_url).await.unwrap();
    let sql =
        "UPDATE idempotency_keys SET status_code = NULL, response_body = NULL, created_at = $1";
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [at.into()]))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_claim_left_by_a_crash_expires() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    create(&app, &a.token, "k", "P", "10")
        .await
        .expect(StatusCode::CREATED);
    // Claimed just now: its request may still be running.
    unfinish_claims(&app, Utc::now()).await;
    create(&app, &a.token, "k", "P", "10")
        .await
        .expect_problem(StatusCode::CONFLICT, "idempotency_key_in_flight");
    // Claimed longer ago than any request may run (the 30 s timeout plus a margin): taken
    // over, even by another request.
    unfinish_claims(&app, Utc::now() - chrono::Duration::minutes(5)).await;
    let taken_over = create(&app, &a.token, "k", "Q", "10")
        .await
        .expect(StatusCode::CREATED);
    assert!(taken_over.headers.get("idempotent-replayed").is_none());
    assert_eq!(taken_over.body["sku"], "Q");
    // The new request's response is now the key's.
    let replayed = create(&app, &a.token, "k", "Q", "10")
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
}

#[tokio::test]
async fn the_key_changes_nothing_about_logging_in_or_routing() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let secret = app.store_key(cosell_core::Role::Operator, None).await;
    let keyed = [("idempotency-key", "k")];
    // Also with a stale token still attached, as a client that sends both on every write.
    for stale in [None, Some("not.a.jwt")] {
        let token = app
            .call(
                Method::POST,
                "/v1/auth/token",
                stale,
                Some(json!({ "api_key": secret })),
                &keyed,
            )
            .await
            .expect(StatusCode::OK);
        assert!(token.body["access_token"].is_string());
    }
    for (method, path) in [(Method::PUT, "/v1/products"), (Method::POST, "/healthz")] {
        for token in [None, Some(a.token.as_str())] {
            app.call(method.clone(), path, token, Some(json!({})), &keyed)
                .await
                .expect_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        }
    }
    app.call(Method::POST, "/v1/nowhere", None, Some(json!({})), &keyed)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    // A write that needs a token still asks for one.
    app.call(Method::POST, "/v1/products", None, Some(json!({})), &keyed)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "missing_token");
    let bad = app
        .call(
            Method::POST,
            "/v1/products",
            Some("not.a.jwt"),
            Some(json!({})),
            &keyed,
        )
        .await;
    bad.expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");
}

/// A request timeout set absurdly long (what `--request-timeout-seconds` accepts, up to
/// u64::MAX seconds) still lets keyed writes through: working out when a claim counts as
/// abandoned overflowed and panicked, a 500 on every write with an Idempotency-Key.
#[tokio::test]
async fn a_very_long_request_timeout_does_not_break_keyed_writes() {
    for seconds in [u64::MAX, 10_000_000_000_000, 100_000_000_000] {
        let app = TestApp::with_config(ApiConfig {
            request_timeout: Duration::from_secs(seconds),
            ..ApiConfig::default()
        })
        .await;
        let a = app.partner("acme").await;
        let first = create(&app, &a.token, "long-1", "P", "10")
            .await
            .expect(StatusCode::CREATED);
        let again = create(&app, &a.token, "long-1", "P", "10")
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(first.body, again.body, "{seconds}");
    }
}
