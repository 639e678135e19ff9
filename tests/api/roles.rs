//! Operators act as no partner: every write that a partner takes for itself answers an
//! operator's token 403 `forbidden`, even on rows that exist, and changes nothing.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::isolation::Catalog;
use crate::sales::{convert, create_link, merchant_and_referrer, minutes, order};
use crate::support::TestApp;

#[tokio::test]
async fn operators_take_no_partner_only_write() {
    let app = TestApp::new().await;
    let (shop, blog) = merchant_and_referrer(&app).await;
    let invitee = app.partner("news").await;

    // Real rows of each kind, so that a missing check shows as a success, not a 404.
    let catalog = Catalog::of(&app, &shop, &invitee).await;
    let link = create_link(&app, &blog, &shop, "https://shop.test/a", json!({})).await;
    let link = link.id();
    let sale_body = order("o-1", "cust", minutes(0), &[("A1", 1, "10.00")]);
    let sale = convert(&app, &shop, sale_body.clone()).await;
    let sale = sale["id"].as_str().unwrap().to_owned();
    let product = json!({ "sku": "O", "title": "t", "category": "c", "price": "1", "unit_cost": "1", "currency": "EUR" });
    let offer = &catalog.offer;

    let mut attempts = catalog.writes();
    attempts.extend(
        catalog
            .creations()
            .map(|(path, body)| (Method::POST, path.to_owned(), Some(body))),
    );
    attempts.extend([
        (
            Method::POST,
            "/v1/products/bulk".into(),
            Some(json!({ "products": [product] })),
        ),
        (Method::POST, "/v1/products".into(), Some(product)),
        (
            Method::POST,
            "/v1/partnerships".into(),
            Some(json!({ "invitee_id": invitee.id, "commission_percent": "5", "currency": "EUR" })),
        ),
        (
            Method::PUT,
            format!("/v1/offers/{offer}/rules"),
            Some(json!({ "eligibility": ["region = EU"] })),
        ),
        (
            Method::POST,
            "/v1/tracking-links".into(),
            Some(json!({ "merchant_id": shop.id, "destination": "https://shop.test/b" })),
        ),
        (
            Method::PATCH,
            format!("/v1/tracking-links/{link}"),
            Some(json!({ "label": "mine" })),
        ),
        (Method::DELETE, format!("/v1/tracking-links/{link}"), None),
        (Method::POST, "/v1/conversions".into(), Some(sale_body)),
        (
            Method::POST,
            format!("/v1/conversions/{sale}/refunds"),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/v1/conversions/reattribute".into(),
            Some(json!({ "from": minutes(-60), "to": minutes(1) })),
        ),
        (
            Method::PUT,
            "/v1/attribution/default-model".into(),
            Some(json!({ "model": "first_touch" })),
        ),
        (
            Method::PUT,
            "/v1/customers/cust".into(),
            Some(json!({ "satisfaction": "ok", "consents": ["web"], "currency": "EUR" })),
        ),
    ]);
    for (method, path, body) in attempts {
        let reply = app
            .call(
                method.clone(),
                &path,
                Some(&app.operator),
                body,
                &[("if-match", "\"1\"")],
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path} as an operator: {}",
            reply.body
        );
    }

    // Nothing changed: the offer has no rules, the link is still version 1 and redirects,
    // the sale is not refunded.
    let rules = app
        .get(&format!("/v1/offers/{offer}/rules"), Some(&shop.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        rules.body,
        json!({ "eligibility": [], "excluded_relationships": [] })
    );
    let kept = app
        .get(&format!("/v1/tracking-links/{link}"), Some(&blog.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(kept.etag(), "\"1\"");
    app.get(kept.body["path"].as_str().unwrap(), None)
        .await
        .expect(StatusCode::FOUND);
    let unrefunded = app
        .get(&format!("/v1/conversions/{sale}"), Some(&shop.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(unrefunded.body["refunded"], "0.00");
}
