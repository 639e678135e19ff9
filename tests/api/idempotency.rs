//! Idempotency-Key: retries replay the first success; another body under the same key is a 409.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

fn product(sku: &str, price: &str) -> serde_json::Value {
    json!({ "sku": sku, "title": "t", "category": "c", "price": price, "unit_cost": "1", "currency": "EUR" })
}

#[tokio::test]
async fn a_retried_create_is_replayed_not_repeated() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let key = [("idempotency-key", "order-42")];
    let first = app
        .call(
            Method::POST,
            "/v1/products",
            Some(&a.token),
            Some(product("P", "10")),
            &key,
        )
        .await
        .expect(StatusCode::CREATED);
    let again = app
        .call(
            Method::POST,
            "/v1/products",
            Some(&a.token),
            Some(product("P", "10")),
            &key,
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first.body, again.body, "the replay is the first response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let listed = app
        .get("/v1/products", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    app.call(
        Method::POST,
        "/v1/products",
        Some(&a.token),
        Some(product("P", "11")),
        &key,
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "idempotency_key_reused");
}

#[tokio::test]
async fn a_failed_request_does_not_burn_its_key() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let key = [("idempotency-key", "k1")];
    app.call(
        Method::POST,
        "/v1/products",
        Some(&a.token),
        Some(product("P", "-1")),
        &key,
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.call(
        Method::POST,
        "/v1/products",
        Some(&a.token),
        Some(product("P", "1")),
        &key,
    )
    .await
    .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn keys_belong_to_the_caller() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let b = app.partner("bolt").await;
    let key = [("idempotency-key", "same-key")];
    let from_a = app
        .call(
            Method::POST,
            "/v1/products",
            Some(&a.token),
            Some(product("P", "1")),
            &key,
        )
        .await
        .expect(StatusCode::CREATED);
    let from_b = app
        .call(
            Method::POST,
            "/v1/products",
            Some(&b.token),
            Some(product("P", "1")),
            &key,
        )
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
    let long = "k".repeat(256);
    app.call(
        Method::POST,
        "/v1/products",
        Some(&a.token),
        Some(product("P", "1")),
        &[("idempotency-key", &long)],
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
}
