//! Every error is a problem document: bad JSON, unknown fields, wrong media type, oversized
//! bodies, unknown routes, wrong methods and malformed ids.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cosell_api::ApiConfig;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let request = Request::post("/v1/products")
        .header("authorization", format!("Bearer {}", a.token))
        .header("content-type", "application/json")
        .body(Body::from("{\"sku\": "))
        .unwrap();
    app.send(request)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    let missing_field = app
        .post("/v1/products", Some(&a.token), json!({ "sku": "x" }))
        .await;
    let problem = missing_field.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(
        problem.body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field")
    );
}

#[tokio::test]
async fn unknown_fields_are_refused_and_store_nothing() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    // A misspelt optional field would otherwise be dropped in silence: here the cost.
    let product = json!({ "sku": "P1", "title": "Tent", "category": "camping", "price": "100",
        "unit_cost": "60", "currency": "EUR", "attribute": { "season": "summer" } });
    let refused = app
        .post("/v1/products", Some(&a.token), product)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("unknown field `attribute`"), "{detail}");
    let listed = app
        .get("/v1/products", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(listed.body["items"].as_array().unwrap().is_empty());

    // Nested objects too, named by their path in the body.
    let batch = json!({ "events": [{ "event_id": "e1", "kind": "click",
        "customer_reference": "c1", "occurred_at": "2026-01-01T00:00:00Z" }] });
    let refused = app
        .post("/v1/touchpoints", Some(&a.token), batch)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("events[0]") && detail.contains("unknown field `customer_reference`"),
        "{detail}"
    );

    // A customer named under a wrong key must not be answered as an anonymous visitor,
    // past the customer's guardrails.
    let ask = json!({ "customer_reference": "c1", "anchor_product_ids": [uuid::Uuid::now_v7()],
        "moment": "checkout", "channel": "web" });
    app.post("/v1/recommendations", Some(&a.token), ask)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
}

#[tokio::test]
async fn json_needs_its_content_type() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let request = Request::post("/v1/products")
        .header("authorization", format!("Bearer {}", a.token))
        .body(Body::from("{}"))
        .unwrap();
    app.send(request)
        .await
        .expect_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn oversized_bodies_are_a_413_problem_and_store_nothing() {
    let app = TestApp::with_config(ApiConfig {
        max_body_bytes: 2048,
        ..ApiConfig::default()
    })
    .await;
    let a = app.partner("acme").await;
    let huge = json!({ "sku": "BIG", "title": "x".repeat(4096), "category": "c", "price": "1", "unit_cost": "1", "currency": "EUR" });
    app.post("/v1/products", Some(&a.token), huge.clone())
        .await
        .expect_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    app.call(
        Method::POST,
        "/v1/products",
        Some(&a.token),
        Some(huge),
        &[("idempotency-key", "big")],
    )
    .await
    .expect_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let listed = app
        .get("/v1/products", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(listed.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_routes_methods_and_ids_are_problems() {
    let app = TestApp::new().await;
    app.get("/v1/nowhere", Some(&app.operator))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let wrong_method = app
        .call(Method::PUT, "/v1/partners", Some(&app.operator), None, &[])
        .await;
    let wrong_method =
        wrong_method.expect_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(wrong_method.headers.get("allow").is_some());
    app.get("/v1/products/not-a-uuid", Some(&app.operator))
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/healthz", None).await.expect(StatusCode::OK).body["status"],
        "ok"
    );
    assert_eq!(
        app.get("/readyz", None).await.expect(StatusCode::OK).body["status"],
        "ok"
    );
    let traced = app.get("/healthz", None).await;
    assert!(
        traced.headers.get("x-request-id").is_some(),
        "every response carries a request id"
    );
}
