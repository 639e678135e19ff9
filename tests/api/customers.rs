//! Customer profiles: create-or-replace with an optional `If-Match`, and the reference rule.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestApp;

fn profile(satisfaction: &str) -> Value {
    json!({ "satisfaction": satisfaction, "consents": ["web"], "currency": "EUR" })
}

#[tokio::test]
async fn a_put_with_if_match_replaces_only_the_version_it_names() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let path = "/v1/customers/cust-1";
    let put = |etag: Option<&'static str>, satisfaction: &'static str| {
        let headers: Vec<(&str, &str)> = etag.map(|e| ("if-match", e)).into_iter().collect();
        let app = &app;
        let token = shop.token.clone();
        async move {
            app.call(
                Method::PUT,
                path,
                Some(&token),
                Some(profile(satisfaction)),
                &headers,
            )
            .await
        }
    };
    // Naming a version of a profile that does not exist creates nothing.
    put(Some("\"1\""), "ok")
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    app.get(path, Some(&shop.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    // Without If-Match, create and replace whatever the version (scripts rely on it).
    put(None, "ok").await.expect(StatusCode::CREATED);
    let second = put(None, "at_risk").await.expect(StatusCode::OK);
    assert_eq!(second.body["version"], 2);
    // A stale version is refused and changes nothing.
    let stale = put(Some("\"1\""), "open_complaint")
        .await
        .expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    assert!(
        stale.body["detail"].as_str().unwrap().contains("\"2\""),
        "{}",
        stale.body
    );
    put(Some("two"), "open_complaint")
        .await
        .expect(StatusCode::BAD_REQUEST);
    let read = app
        .get(path, Some(&shop.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (&read.body["satisfaction"], &read.body["version"]),
        (&json!("at_risk"), &json!(2))
    );
    // The current version is accepted.
    let third = put(Some("\"2\""), "ok").await.expect(StatusCode::OK);
    assert_eq!(third.body["version"], 3);
    assert_eq!(third.etag(), "\"3\"");
}

#[tokio::test]
async fn a_customer_reference_must_be_printable_and_not_blank() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let long = "x".repeat(201);
    for bad in ["%20", "%20%20", "%09", "%00", "a%0Ab", "%7F", long.as_str()] {
        let path = format!("/v1/customers/{bad}");
        let refused = app
            .put(&path, Some(&shop.token), profile("ok"))
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.fields(), ["reference"], "{bad}");
        app.get(&path, Some(&shop.token))
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    // A printable reference with inner spaces is fine, and so are 200 characters.
    app.put("/v1/customers/Jane%20Doe", Some(&shop.token), profile("ok"))
        .await
        .expect(StatusCode::CREATED);
    let max = "%C3%A9".repeat(200);
    app.put(
        &format!("/v1/customers/{max}"),
        Some(&shop.token),
        profile("ok"),
    )
    .await
    .expect(StatusCode::CREATED);
}

/// A refusal names the field as the body names it: `purchased_product_ids` (it said
/// `purchased`, which the body does not have) and each bad relationship by its index.
#[tokio::test]
async fn a_profile_refusal_names_the_fields_the_body_has() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let other = app.partner("other").await;
    let mut body = profile("ok");
    body["relationships"] = json!([
        { "partner_id": other.id, "kind": "auditor" },
        { "partner_id": other.id, "kind": " " }
    ]);
    let purchased: Vec<String> = (0..1001)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    body["purchased_product_ids"] = json!(purchased);
    let refused = app
        .put("/v1/customers/many", Some(&shop.token), body)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        refused.fields(),
        ["relationships[1].kind", "purchased_product_ids"]
    );
}
