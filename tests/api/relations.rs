//! Relations: typed, weighted, no self-relations, no duplicates; symmetric kinds hold both ways.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn relations_are_created_listed_and_deleted() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let tent = app.product(&a, "TENT", "tents", "200", "120").await;
    let pegs = app.product(&a, "PEGS", "accessories", "10", "3").await;
    let rel = app
        .post("/v1/relations", Some(&a.token), json!({ "kind": "accessory", "from_product_id": tent, "to_product_id": pegs, "weight": "0.8" }))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(rel.body["weight"], "0.8");
    assert_eq!(rel.body["symmetric"], false);
    let of_pegs = app
        .get(&format!("/v1/products/{pegs}/relations"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(of_pegs.body["items"][0]["id"], rel.id().as_str());
    app.delete(&format!("/v1/relations/{}", rel.id()), Some(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    let after = app
        .get(&format!("/v1/products/{tent}/relations"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(after.body["items"].as_array().unwrap().is_empty());
    // The list takes no parameters: a misspelt one is refused, not ignored.
    app.get(
        &format!("/v1/products/{tent}/relations?kind=accessory"),
        Some(&a.token),
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
}

#[tokio::test]
async fn symmetric_relations_cannot_be_duplicated_in_reverse() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "tv", "500", "300").await;
    let y = app.product(&a, "Y", "tv", "520", "310").await;
    app.post(
        "/v1/relations",
        Some(&a.token),
        json!({ "kind": "competing", "from_product_id": x, "to_product_id": y }),
    )
    .await
    .expect(StatusCode::CREATED);
    app.post(
        "/v1/relations",
        Some(&a.token),
        json!({ "kind": "competing", "from_product_id": y, "to_product_id": x }),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "relation_exists");
    // A directed kind may exist both ways: an upgrade path is not symmetric.
    app.post(
        "/v1/relations",
        Some(&a.token),
        json!({ "kind": "upgrade", "from_product_id": x, "to_product_id": y }),
    )
    .await
    .expect(StatusCode::CREATED);
    app.post(
        "/v1/relations",
        Some(&a.token),
        json!({ "kind": "upgrade", "from_product_id": y, "to_product_id": x }),
    )
    .await
    .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn bad_relations_are_refused() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let x = app.product(&a, "X", "c", "1", "1").await;
    let self_rel = app
        .post(
            "/v1/relations",
            Some(&a.token),
            json!({ "kind": "accessory", "from_product_id": x, "to_product_id": x, "weight": "2" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(self_rel.body["errors"].as_array().unwrap().len(), 2);
    let unknown = uuid::Uuid::now_v7();
    app.post(
        "/v1/relations",
        Some(&a.token),
        json!({ "kind": "accessory", "from_product_id": x, "to_product_id": unknown }),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "not_found");
    app.post(
        "/v1/relations",
        Some(&a.token),
        json!({ "kind": "cousin", "from_product_id": x, "to_product_id": unknown }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
}

#[tokio::test]
async fn a_partner_product_may_be_related_only_under_an_active_partnership() {
    let app = TestApp::new().await;
    let merchant = app.partner("shop").await;
    let affiliate = app.partner("aff").await;
    let tv = app.product(&merchant, "TV", "tv", "500", "300").await;
    let rival = app.product(&affiliate, "TV2", "tv", "480", "290").await;
    let body = json!({ "kind": "competing", "from_product_id": tv, "to_product_id": rival });
    app.post("/v1/relations", Some(&merchant.token), body.clone())
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    app.partnership(&merchant, &affiliate).await;
    app.post("/v1/relations", Some(&merchant.token), body)
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn each_partner_declares_its_own_relations_between_shared_products() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let gear = app.partner("gear").await;
    app.partnership(&shop, &gear).await;
    let tent = app.product(&shop, "TENT", "tents", "200", "120").await;
    let lamp = app.product(&gear, "LAMP", "lights", "30", "12").await;
    for (partner, kind, from, to) in [
        (&gear, "complementary", &lamp, &tent),
        (&shop, "complementary", &tent, &lamp),
        (&gear, "competing", &lamp, &tent),
        (&shop, "competing", &lamp, &tent),
    ] {
        app.post(
            "/v1/relations",
            Some(&partner.token),
            json!({ "kind": kind, "from_product_id": from, "to_product_id": to }),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    // Each sees its own two, and a second declaration in one catalog is still refused.
    for partner in [&shop, &gear] {
        let listed = app
            .get(
                &format!("/v1/products/{tent}/relations"),
                Some(&partner.token),
            )
            .await
            .expect(StatusCode::OK);
        let items = listed.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|r| r["partner_id"] == partner.id.as_str()));
    }
    app.post(
        "/v1/relations",
        Some(&shop.token),
        json!({ "kind": "complementary", "from_product_id": lamp, "to_product_id": tent }),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "relation_exists");
}
