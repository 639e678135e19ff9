//! Bundles: at least two products of one currency, priced at a discount above a margin floor.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn a_bundle_is_priced_to_the_cent() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let tent = app.product(&a, "TENT", "tents", "199.99", "120.00").await;
    let mat = app.product(&a, "MAT", "mats", "49.99", "20.00").await;
    let created = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Camp set", "currency": "EUR", "discount_percent": "10", "margin_floor": "50", "product_ids": [tent, mat] }))
        .await
        .expect(StatusCode::CREATED);
    let pricing = &created.body["pricing"];
    assert_eq!(pricing["list_price"], "249.98");
    assert_eq!(pricing["price"], "224.98");
    assert_eq!(pricing["cost"], "140.00");
    assert_eq!(pricing["margin"], "84.98");
    let listed = app
        .get("/v1/bundles", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_margin_under_the_floor_is_refused_with_the_numbers() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "100.00", "60.00").await;
    let y = app.product(&a, "Y", "d", "50.00", "30.00").await;
    let refused = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Deep cut", "currency": "EUR", "discount_percent": "30", "margin_floor": "20", "product_ids": [x, y] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // A new bundle sets both the discount and the floor: both are named.
    assert_eq!(refused.fields(), ["discount_percent", "margin_floor"]);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("would fall below the margin floor"),
        "{detail}"
    );
    assert!(
        detail.contains("30% off 150.00 EUR is 105.00 EUR"),
        "{detail}"
    );
    assert!(detail.contains("margin of 15.00 EUR"), "{detail}");
    assert!(detail.contains("cost of 90.00 EUR"), "{detail}");
    assert!(detail.contains("floor of 20 EUR"), "{detail}");
    assert!(detail.contains("at least 110.00 EUR"), "{detail}");
    let listed = app
        .get("/v1/bundles", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(listed.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn changing_a_bundle_rechecks_the_floor_and_needs_the_etag() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "100.00", "60.00").await;
    let y = app.product(&a, "Y", "d", "50.00", "30.00").await;
    let created = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Set", "currency": "EUR", "discount_percent": "5", "margin_floor": "20", "product_ids": [x, y] }))
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/v1/bundles/{}", created.id());
    app.patch(
        &path,
        Some(&a.token),
        "\"1\"",
        json!({ "discount_percent": "30" }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let ok = app
        .patch(
            &path,
            Some(&a.token),
            "\"1\"",
            json!({ "discount_percent": "10" }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(ok.body["pricing"]["price"], "135.00");
    app.patch(&path, Some(&a.token), "\"1\"", json!({ "name": "Stale" }))
        .await
        .expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    app.delete(&path, Some(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&path, Some(&a.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_margin_under_the_floor_is_reported_on_the_fields_the_patch_set() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "100.00", "60.00").await;
    let y = app.product(&a, "Y", "d", "50.00", "30.00").await;
    let cheap = app.product(&a, "Z", "e", "20.00", "19.00").await;
    let created = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Set", "currency": "EUR", "discount_percent": "5", "margin_floor": "20", "product_ids": [x, y] }))
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/v1/bundles/{}", created.id());
    // 5% off 150.00 is 142.50: a margin of 52.50 over the cost of 90.00.
    for (body, fields) in [
        (json!({ "margin_floor": "60" }), vec!["margin_floor"]),
        (
            json!({ "discount_percent": "30" }),
            vec!["discount_percent"],
        ),
        (
            json!({ "discount_percent": "30", "margin_floor": "60" }),
            vec!["discount_percent", "margin_floor"],
        ),
        (
            json!({ "margin_floor": "60", "product_ids": [x, cheap] }),
            vec!["margin_floor"],
        ),
        (json!({ "product_ids": [y, cheap] }), vec!["product_ids"]),
    ] {
        let refused = app
            .patch(&path, Some(&a.token), "\"1\"", body.clone())
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.fields(), fields, "{body}");
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("would fall below the margin floor"),
            "{message}"
        );
    }
    let floor = app
        .patch(
            &path,
            Some(&a.token),
            "\"1\"",
            json!({ "margin_floor": "60" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        floor.body["detail"],
        "margin_floor: the discounted price would fall below the margin floor: 5% off 150.00 EUR \
         is 142.50 EUR, a margin of 52.50 EUR over the cost of 90.00 EUR, under the margin floor \
         of 60 EUR (the price must be at least 150.00 EUR)"
    );
}

#[tokio::test]
async fn bundles_need_two_products_of_the_bundle_currency() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "10", "1").await;
    let usd = app
        .post("/v1/products", Some(&a.token), json!({ "sku": "U", "title": "u", "category": "c", "price": "10", "unit_cost": "1", "currency": "USD" }))
        .await
        .expect(StatusCode::CREATED)
        .id();
    app.post("/v1/bundles", Some(&a.token), json!({ "name": "One", "currency": "EUR", "discount_percent": "0", "margin_floor": "0", "product_ids": [x] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.post("/v1/bundles", Some(&a.token), json!({ "name": "Mixed", "currency": "EUR", "discount_percent": "0", "margin_floor": "0", "product_ids": [x, usd] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn a_product_in_a_bundle_cannot_be_deleted() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "10", "1").await;
    let y = app.product(&a, "Y", "c", "10", "1").await;
    app.post("/v1/bundles", Some(&a.token), json!({ "name": "Set", "currency": "EUR", "discount_percent": "0", "margin_floor": "0", "product_ids": [x, y] }))
        .await
        .expect(StatusCode::CREATED);
    app.delete(&format!("/v1/products/{x}"), Some(&a.token))
        .await
        .expect_problem(StatusCode::CONFLICT, "product_in_use");
}

#[tokio::test]
async fn a_bundle_member_keeps_the_bundles_currency() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "10", "1").await;
    let y = app.product(&a, "Y", "c", "10", "1").await;
    let lone = app.product(&a, "Z", "c", "10", "1").await;
    app.post("/v1/bundles", Some(&a.token), json!({ "name": "Set", "currency": "EUR", "discount_percent": "0", "margin_floor": "0", "product_ids": [x, y] }))
        .await
        .expect(StatusCode::CREATED);
    let to_yen = json!({ "currency": "JPY", "price": "1500", "unit_cost": "100" });
    app.patch(
        &format!("/v1/products/{x}"),
        Some(&a.token),
        "\"1\"",
        to_yen.clone(),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "bundle_currency");
    let x_now = app
        .get(&format!("/v1/products/{x}"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            x_now.body["currency"].as_str(),
            x_now.body["version"].as_i64()
        ),
        (Some("EUR"), Some(1))
    );
    // Other changes to a member, and a product in no bundle, are free.
    app.patch(
        &format!("/v1/products/{x}"),
        Some(&a.token),
        "\"1\"",
        json!({ "price": "12" }),
    )
    .await
    .expect(StatusCode::OK);
    app.patch(
        &format!("/v1/products/{lone}"),
        Some(&a.token),
        "\"1\"",
        to_yen,
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_negative_margin_floor_is_refused_on_create_and_change() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "100.00", "60.00").await;
    let y = app.product(&a, "Y", "d", "50.00", "30.00").await;
    let refused = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Zero", "currency": "EUR", "discount_percent": "100", "margin_floor": "-1000", "product_ids": [x, y] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.fields(), ["margin_floor"]);
    let listed = app
        .get("/v1/bundles", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(listed.body["items"].as_array().unwrap().is_empty());
    // A price under the floor is refused too, so 100 % off cannot slip through a 0 floor.
    app.post("/v1/bundles", Some(&a.token), json!({ "name": "Free", "currency": "EUR", "discount_percent": "100", "margin_floor": "0", "product_ids": [x, y] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let path = format!(
        "/v1/bundles/{}",
        app.post("/v1/bundles", Some(&a.token), json!({ "name": "Set", "currency": "EUR", "discount_percent": "10", "margin_floor": "0", "product_ids": [x, y] }))
            .await
            .expect(StatusCode::CREATED)
            .id()
    );
    let refused = app
        .patch(
            &path,
            Some(&a.token),
            "\"1\"",
            json!({ "margin_floor": "-0.01" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.fields(), ["margin_floor"]);
    let kept = app.get(&path, Some(&a.token)).await.expect(StatusCode::OK);
    assert_eq!(
        (&kept.body["margin_floor"], &kept.body["version"]),
        (&json!("0.00"), &json!(1))
    );
}

#[tokio::test]
async fn every_bad_bundle_field_is_reported_at_once() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let refused = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "", "currency": "EURO", "discount_percent": "110", "margin_floor": "-1", "product_ids": [] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        refused.fields(),
        [
            "name",
            "currency",
            "discount_percent",
            "margin_floor",
            "product_ids"
        ]
    );
}

#[tokio::test]
async fn the_list_prices_each_bundle_as_the_single_get_does() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let tent = app.product(&a, "TENT", "tents", "199.99", "120.00").await;
    let mat = app.product(&a, "MAT", "mats", "49.99", "20.00").await;
    let stove = app.product(&a, "STOVE", "stoves", "80.00", "50.00").await;
    let camp = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Camp set", "currency": "EUR", "discount_percent": "10", "margin_floor": "50", "product_ids": [tent, mat] }))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let cook = app
        .post("/v1/bundles", Some(&a.token), json!({ "name": "Cook set", "currency": "EUR", "discount_percent": "5", "margin_floor": "40", "product_ids": [mat, stove] }))
        .await
        .expect(StatusCode::CREATED)
        .id();
    // The stove's price drops, so the cook set no longer meets its floor: no pricing.
    app.patch(
        &format!("/v1/products/{stove}"),
        Some(&a.token),
        "\"1\"",
        json!({ "price": "60.00" }),
    )
    .await
    .expect(StatusCode::OK);
    let listed = app
        .get("/v1/bundles", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for (id, item) in [&camp, &cook].into_iter().zip(items) {
        let one = app
            .get(&format!("/v1/bundles/{id}"), Some(&a.token))
            .await
            .expect(StatusCode::OK);
        assert_eq!(item["pricing"], one.body["pricing"], "{id}");
    }
    assert_eq!(
        items[0]["pricing"],
        json!({ "list_price": "249.98", "price": "224.98", "cost": "140.00", "margin": "84.98" })
    );
    assert!(items[1]["pricing"].is_null(), "{}", items[1]);
}

#[tokio::test]
async fn the_bundle_list_refuses_query_parameters() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    for query in [
        "bogus=1",
        "limit=1",
        "cursor=0190a0f0-0000-7000-8000-000000000000",
    ] {
        app.get(&format!("/v1/bundles?{query}"), Some(&a.token))
            .await
            .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    }
    app.get("/v1/bundles", Some(&a.token))
        .await
        .expect(StatusCode::OK);
}
