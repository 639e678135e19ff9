//! Products: create, bulk create, list with filters and cursors, update with ETags, delete.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestApp;

#[tokio::test]
async fn a_product_round_trips_to_the_cent() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let created = app
        .post(
            "/v1/products",
            Some(&a.token),
            json!({ "sku": "T-1", "title": "Tent", "category": "tents", "price": "199.99", "unit_cost": "120.10",
                    "currency": "EUR", "attributes": { "colour": "green", "weight_g": 2100 } }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.etag(), "\"1\"");
    let got = app
        .get(&format!("/v1/products/{}", created.id()), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(got.body["price"], "199.99");
    assert_eq!(got.body["unit_cost"], "120.10");
    assert_eq!(got.body["attributes"]["weight_g"], 2100);
    assert_eq!(got.body["active"], true);
    assert_eq!(got.body["partner_id"], a.id.as_str());
}

#[tokio::test]
async fn prices_follow_the_currency_minor_units() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let base = json!({ "sku": "Y", "title": "Yen", "category": "c", "unit_cost": "100", "currency": "JPY" });
    let mut cents = base.clone();
    cents["price"] = json!("1500.50");
    let bad = app
        .post("/v1/products", Some(&a.token), cents)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.body["errors"][0]["field"], "price");
    let mut whole = base.clone();
    whole["price"] = json!("1500");
    let ok = app
        .post("/v1/products", Some(&a.token), whole)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(ok.body["price"], "1500");
    let bhd = json!({ "sku": "B", "title": "Dinar", "category": "c", "price": "1.125", "unit_cost": "0.500", "currency": "BHD" });
    let ok = app
        .post("/v1/products", Some(&a.token), bhd)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(ok.body["price"], "1.125");
}

#[tokio::test]
async fn amounts_past_the_bound_are_refused_not_a_server_error() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let product = |price: Value| json!({ "sku": "BIG", "title": "Big", "category": "c", "price": price, "unit_cost": "1", "currency": "EUR" });
    // Past MAX_AMOUNT_MAJOR, past what an i64 of cents holds, and as a JSON number.
    for price in [
        json!("1000000000000.01"),
        json!("92233720368547758.08"),
        json!(1e20),
    ] {
        let refused = app
            .post("/v1/products", Some(&a.token), product(price))
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.body["errors"][0]["field"], "price");
    }
    let at_bound = app
        .post(
            "/v1/products",
            Some(&a.token),
            product(json!("1000000000000.00")),
        )
        .await
        .expect(StatusCode::CREATED);
    app.patch(
        &format!("/v1/products/{}", at_bound.id()),
        Some(&a.token),
        "\"1\"",
        json!({ "price": "99999999999999999999" }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let profile =
        json!({ "satisfaction": "ok", "currency": "EUR", "revenue": "99999999999999999999" });
    app.put("/v1/customers/rich", Some(&a.token), profile)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let listed = app
        .get("/v1/products", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn skus_are_unique_per_partner_only() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let b = app.partner("bolt").await;
    app.product(&a, "SKU-1", "c", "10", "5").await;
    app.post("/v1/products", Some(&a.token), json!({ "sku": "SKU-1", "title": "x", "category": "c", "price": "1", "unit_cost": "1", "currency": "EUR" }))
        .await
        .expect_problem(StatusCode::CONFLICT, "sku_taken");
    app.product(&b, "SKU-1", "c", "10", "5").await;
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing_and_names_bad_rows() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let row = |sku: &str, price: &str| json!({ "sku": sku, "title": "t", "category": "c", "price": price, "unit_cost": "1", "currency": "EUR" });
    let bad = app
        .post(
            "/v1/products/bulk",
            Some(&a.token),
            json!({ "products": [row("A", "2"), row("B", "-1"), row("C", "2.001")] }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.fields(), ["products[1].price", "products[2].price"]);
    let duplicate = app
        .post(
            "/v1/products/bulk",
            Some(&a.token),
            json!({ "products": [row("A", "2"), row("A", "3")] }),
        )
        .await;
    duplicate.expect_problem(StatusCode::CONFLICT, "sku_taken");
    let listed = app
        .get("/v1/products", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        0,
        "nothing is half-imported"
    );

    let many: Vec<_> = (0..250).map(|i| row(&format!("S{i:03}"), "9.99")).collect();
    let created = app
        .post(
            "/v1/products/bulk",
            Some(&a.token),
            json!({ "products": many }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.body["items"].as_array().unwrap().len(), 250);
    let too_many: Vec<_> = (0..1001).map(|i| row(&format!("X{i}"), "1")).collect();
    app.post(
        "/v1/products/bulk",
        Some(&a.token),
        json!({ "products": too_many }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn lists_filter_and_paginate_without_gaps() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    for i in 0..7 {
        let category = if i % 2 == 0 { "tents" } else { "stoves" };
        app.product(&a, &format!("P{i}"), category, "10", "5").await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/products?limit=3".to_owned();
    loop {
        let page = app.get(&path, Some(&a.token)).await.expect(StatusCode::OK);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["sku"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/products?limit=3&cursor={cursor}"),
            None => {
                // As the schema says: present, and null.
                let sent = page.body.as_object().unwrap().get("next_cursor");
                assert_eq!(sent, Some(&json!(null)), "{}", page.body);
                break;
            }
        }
    }
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let schema = &spec["components"]["schemas"]["Paged_ProductDto"];
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&json!("next_cursor")),
        "{schema}"
    );
    let said = schema["properties"]["next_cursor"]["description"]
        .as_str()
        .unwrap();
    assert!(said.contains("`null` on the last page"), "{said}");
    assert_eq!(seen, ["P0", "P1", "P2", "P3", "P4", "P5", "P6"]);
    let tents = app
        .get("/v1/products?category=tents", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(tents.body["items"].as_array().unwrap().len(), 4);
    let by_sku = app
        .get("/v1/products?sku=P3", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(by_sku.body["items"][0]["sku"], "P3");
    app.get("/v1/products?limit=0", Some(&a.token))
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    app.get("/v1/products?active=maybe", Some(&a.token))
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    // A misspelt filter is refused rather than ignored (which would list everything).
    let typo = app
        .get("/v1/products?categroy=tents", Some(&a.token))
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    let detail = typo.body["detail"].as_str().unwrap();
    assert!(detail.contains("unknown field `categroy`"), "{detail}");
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let id = app.product(&a, "P", "c", "10.00", "5.00").await;
    let path = format!("/v1/products/{id}");
    app.call(
        Method::PATCH,
        &path,
        Some(&a.token),
        Some(json!({ "price": "11" })),
        &[],
    )
    .await
    .expect_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    let updated = app
        .patch(
            &path,
            Some(&a.token),
            "\"1\"",
            json!({ "price": "11.50", "active": false }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(updated.etag(), "\"2\"");
    assert_eq!(updated.body["price"], "11.50");
    assert_eq!(
        updated.body["title"], "Product P",
        "absent fields keep their value"
    );
    let stale = app
        .patch(&path, Some(&a.token), "\"1\"", json!({ "price": "99" }))
        .await;
    stale.expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    let got = app.get(&path, Some(&a.token)).await.expect(StatusCode::OK);
    assert_eq!(got.body["price"], "11.50", "a stale write changes nothing");
    let inactive = app
        .get("/v1/products?active=false", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(inactive.body["items"].as_array().unwrap().len(), 1);
    app.patch(&path, Some(&a.token), "\"2\"", json!({ "unit_cost": "-3" }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn if_match_compares_strongly() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let id = app.product(&a, "P", "c", "10.00", "5.00").await;
    let path = format!("/v1/products/{id}");
    let change =
        |etag: &'static str| app.patch(&path, Some(&a.token), etag, json!({ "price": "12" }));
    // A weak tag never matches, even the current version's; the refusal names the ETag.
    let weak = change("W/\"1\"").await;
    let weak = weak.expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    assert!(
        weak.body["detail"].as_str().unwrap().contains("\"1\""),
        "{}",
        weak.body
    );
    for malformed in ["1", "\"1", "\"one\""] {
        change(malformed)
            .await
            .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    }
    let got = app.get(&path, Some(&a.token)).await.expect(StatusCode::OK);
    assert_eq!(
        got.body["price"], "10.00",
        "no refused write changed anything"
    );
    // `*` matches whatever version is current.
    let any = change("*").await.expect(StatusCode::OK);
    assert_eq!(any.etag(), "\"2\"");
    assert_eq!(any.body["price"], "12.00");
}

#[tokio::test]
async fn deleting_a_product_removes_it() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let id = app.product(&a, "P", "c", "10", "5").await;
    app.delete(&format!("/v1/products/{id}"), Some(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&format!("/v1/products/{id}"), Some(&a.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    app.delete(&format!("/v1/products/{id}"), Some(&a.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn operators_see_every_catalog() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let b = app.partner("bolt").await;
    app.product(&a, "A", "c", "1", "1").await;
    app.product(&b, "B", "c", "1", "1").await;
    let all = app
        .get("/v1/products", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let only_b = app
        .get(
            &format!("/v1/products?partner_id={}", b.id),
            Some(&app.operator),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(only_b.body["items"][0]["sku"], "B");
    app.post("/v1/products", Some(&app.operator), json!({ "sku": "O", "title": "t", "category": "c", "price": "1", "unit_cost": "1", "currency": "EUR" }))
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
}
