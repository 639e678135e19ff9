//! Idempotency-Key: retries replay the first success; another body under the same key is a 409.

use axum::http::{Method, StatusCode};
use serde_json::json;

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
