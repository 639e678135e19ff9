//! A write that changes nothing keeps the version: `{}` or every field sent as it is
//! answers 200 with the stored representation and its ETag, so other clients holding that
//! ETag are not refused for nothing. `If-Match` is still checked.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::sales::{create_link, merchant_and_referrer};
use crate::support::TestApp;

/// PATCHes `path` with `body` under the ETag a GET gave and checks nothing moved.
async fn patch_keeps(app: &TestApp, path: &str, token: &str, body: Value) {
    let before = app.get(path, Some(token)).await.expect(StatusCode::OK);
    let etag = before.etag();
    let after = app
        .patch(path, Some(token), &etag, body.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(after.etag(), etag, "{path} {body}");
    assert_eq!(after.body, before.body, "{path} {body}");
}

/// The resource at `path` (version 1) keeps its ETag when patched with `{}` and with `same`
/// (every field as it is), still checks `If-Match` (a stale, weak or missing one is
/// refused even for a change of nothing), and moves to version 2 on `change`.
async fn only_a_change_moves_the_etag(
    app: &TestApp,
    path: &str,
    token: &str,
    same: Value,
    change: Value,
) {
    patch_keeps(app, path, token, json!({})).await;
    patch_keeps(app, path, token, same).await;
    for stale in ["\"99\"", "W/\"1\""] {
        app.patch(path, Some(token), stale, json!({}))
            .await
            .expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    }
    app.call(Method::PATCH, path, Some(token), Some(json!({})), &[])
        .await
        .expect_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    let changed = app
        .patch(path, Some(token), "\"1\"", change)
        .await
        .expect(StatusCode::OK);
    assert_eq!(changed.etag(), "\"2\"");
}

#[tokio::test]
async fn a_product_patch_that_changes_nothing_keeps_its_etag() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let id = app.product(&shop, "TENT", "tents", "199.99", "120").await;
    let path = format!("/v1/products/{id}");
    // Every field as it is, amounts written differently but equal.
    let same = json!({ "sku": "TENT", "title": "Product TENT", "price": "199.990",
        "unit_cost": "120.00", "currency": "EUR", "active": true });
    let change = json!({ "title": "Tent" });
    only_a_change_moves_the_etag(&app, &path, &shop.token, same, change).await;
}

#[tokio::test]
async fn an_offer_patch_that_changes_nothing_keeps_its_etag() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    let laptop = app.product(&shop, "LAPTOP", "laptops", "999", "700").await;
    let sleeve = app.product(&aff, "SLEEVE", "acc", "29.90", "9").await;
    app.partnership(&shop, &aff).await;
    let id = app
        .post(
            "/v1/offers",
            Some(&aff.token),
            json!({ "product_id": sleeve, "anchor_partner_id": shop.id,
            "anchor_product_ids": [laptop], "discount_percent": "10", "channels": ["checkout"] }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id();
    let path = format!("/v1/offers/{id}");
    let same = json!({ "discount_percent": "10.0", "channels": ["checkout"] });
    let change = json!({ "discount_percent": "15" });
    only_a_change_moves_the_etag(&app, &path, &aff.token, same, change).await;
}

#[tokio::test]
async fn a_bundle_patch_that_changes_nothing_keeps_its_etag() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let x = app.product(&shop, "X", "c", "100.00", "60.00").await;
    let y = app.product(&shop, "Y", "d", "50.00", "30.00").await;
    let id = app
        .post(
            "/v1/bundles",
            Some(&shop.token),
            json!({ "name": "Set", "currency": "EUR",
            "discount_percent": "5", "margin_floor": "20", "product_ids": [x, y] }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id();
    let path = format!("/v1/bundles/{id}");
    // The same members in another order are the same bundle.
    let same = json!({ "name": "Set", "discount_percent": "5.00", "margin_floor": "20", "product_ids": [y, x] });
    let change = json!({ "name": "Pair" });
    only_a_change_moves_the_etag(&app, &path, &shop.token, same, change).await;
}

#[tokio::test]
async fn a_tracking_link_patch_that_changes_nothing_keeps_its_etag() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let link = create_link(&app, &referrer, &merchant, "https://shop.test/", json!({})).await;
    let path = format!("/v1/tracking-links/{}", link.id());
    let same = json!({ "destination": "https://shop.test/", "label": null, "offer_id": null });
    let change = json!({ "label": "Blog" });
    only_a_change_moves_the_etag(&app, &path, &referrer.token, same, change).await;
}

#[tokio::test]
async fn a_customer_put_of_the_stored_profile_keeps_its_etag() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let path = "/v1/customers/cust-1";
    let profile = json!({ "satisfaction": "ok", "consents": ["web", "email"], "currency": "EUR",
        "service_cost": "10", "attributes": { "verified": true } });
    let created = app
        .put(path, Some(&shop.token), profile.clone())
        .await
        .expect(StatusCode::CREATED);
    // What GET shows, sent back as it is, with or without If-Match.
    let read = app
        .get(path, Some(&shop.token))
        .await
        .expect(StatusCode::OK);
    for headers in [vec![], vec![("if-match", "\"1\"")]] {
        let again = app
            .call(
                Method::PUT,
                path,
                Some(&shop.token),
                Some(read.body.clone()),
                &headers,
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(again.etag(), "\"1\"");
        assert_eq!(again.body, created.body);
    }
    app.call(
        Method::PUT,
        path,
        Some(&shop.token),
        Some(profile.clone()),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    let mut changed = profile;
    changed["satisfaction"] = json!("at_risk");
    let replaced = app
        .put(path, Some(&shop.token), changed)
        .await
        .expect(StatusCode::OK);
    assert_eq!(replaced.etag(), "\"2\"");
}
