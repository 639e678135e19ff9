//! Changing a tracking link: under its ETag, validated, only by its owner, never once
//! archived.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::sales::{create_link, follow, merchant_and_referrer};
use crate::support::{Reply, TestApp, TestPartner};

async fn patch(app: &TestApp, who: &TestPartner, id: &str, etag: &str, body: Value) -> Reply {
    app.patch(
        &format!("/v1/tracking-links/{id}"),
        Some(&who.token),
        etag,
        body,
    )
    .await
}

/// Where a click on `path` is sent, without the click id.
async fn lands_on(app: &TestApp, path: &str) -> String {
    let reply = app
        .call(
            Method::GET,
            path,
            None,
            None,
            &[("user-agent", "Mozilla/5.0")],
        )
        .await
        .expect(StatusCode::FOUND);
    let location = reply.headers["location"].to_str().unwrap();
    location
        .split("cosell_click_id=")
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_link_changes_under_its_etag_and_an_archived_one_is_final() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let label = json!({ "label": "  Newsletter  " });
    let created = create_link(&app, &referrer, &merchant, "https://shop.test/a", label).await;
    assert_eq!(created.etag(), "\"1\"");
    assert_eq!(created.body["label"], "Newsletter");
    let id = created.id();
    let path = created.body["path"].as_str().unwrap().to_owned();
    let read = app
        .get(&format!("/v1/tracking-links/{id}"), Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(read.etag(), "\"1\"");

    // Without If-Match: 428; bad values: 422 naming each field, nothing changed.
    app.call(
        Method::PATCH,
        &format!("/v1/tracking-links/{id}"),
        Some(&referrer.token),
        Some(json!({ "destination": "https://shop.test/b" })),
        &[],
    )
    .await
    .expect_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    let bad = patch(
        &app,
        &referrer,
        &id,
        "\"1\"",
        json!({ "destination": "ftp://shop.test/", "label": " " }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.fields(), vec!["destination", "label"]);
    // The merchant and the code are the link's identity: not changeable.
    patch(
        &app,
        &referrer,
        &id,
        "\"1\"",
        json!({ "merchant_id": referrer.id }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(lands_on(&app, &path).await, "https://shop.test/a?");

    let changed = patch(
        &app,
        &referrer,
        &id,
        "\"1\"",
        json!({ "destination": "https://shop.test/b?x=1", "label": null }),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(changed.etag(), "\"2\"");
    assert_eq!(changed.body["label"], Value::Null);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["path"], path.as_str());
    assert_eq!(lands_on(&app, &path).await, "https://shop.test/b?x=1&");
    // A client that read version 1 cannot overwrite version 2.
    let stale = patch(&app, &referrer, &id, "\"1\"", json!({ "label": "old" }))
        .await
        .expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    assert!(stale.body["detail"].as_str().unwrap().contains("\"2\""));

    // Only the owner: the merchant and strangers find no such link.
    let stranger = app.partner("far").await;
    for who in [&merchant, &stranger] {
        patch(&app, who, &id, "\"2\"", json!({ "label": "mine" }))
            .await
            .expect_problem(StatusCode::NOT_FOUND, "not_found");
    }

    // Archiving is a change too (version 3); after it the link neither changes nor redirects.
    let archived = app
        .delete(&format!("/v1/tracking-links/{id}"), Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(archived.etag(), "\"3\"");
    patch(&app, &referrer, &id, "\"3\"", json!({ "label": "again" }))
        .await
        .expect_problem(StatusCode::CONFLICT, "link_archived");
    app.get(&path, None)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let after = app
        .get(&format!("/v1/tracking-links/{id}"), Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(after.body["destination"], "https://shop.test/b?x=1");
}

#[tokio::test]
async fn a_link_moves_between_the_partners_own_offers() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let laptop = app
        .product(&merchant, "LAPTOP", "laptops", "999.00", "700.00")
        .await;
    let sleeve = app
        .product(&referrer, "SLEEVE", "accessories", "29.90", "9.00")
        .await;
    let offer = app
        .post(
            "/v1/offers",
            Some(&referrer.token),
            json!({ "product_id": sleeve, "anchor_partner_id": merchant.id, "anchor_product_ids": [laptop],
                    "discount_percent": "10", "channels": ["checkout"] }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id();
    let link = create_link(&app, &referrer, &merchant, "https://shop.test/", json!({})).await;
    let id = link.id();
    // The merchant's product is not the referrer's offer: no such offer.
    patch(&app, &referrer, &id, "\"1\"", json!({ "offer_id": laptop }))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let on_offer = patch(&app, &referrer, &id, "\"1\"", json!({ "offer_id": offer }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(on_offer.body["offer_id"], offer.as_str());
    // A label alone leaves the offer; null puts the link back on the partnership.
    let labelled = patch(&app, &referrer, &id, "\"2\"", json!({ "label": "Sleeves" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(labelled.body["offer_id"], offer.as_str());
    let general = patch(&app, &referrer, &id, "\"3\"", json!({ "offer_id": null }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(general.body["offer_id"], Value::Null);
    assert_eq!(general.body["label"], "Sleeves");
    follow(&app, link.body["path"].as_str().unwrap(), "Mozilla/5.0").await;
}
