//! Offers: draft → active ⇄ paused → archived; anchors need an active partnership; never a
//! competing product.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, TestPartner};

struct Setup {
    app: TestApp,
    shop: TestPartner,
    aff: TestPartner,
    laptop: String,
    sleeve: String,
}

async fn setup() -> Setup {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    let laptop = app
        .product(&shop, "LAPTOP-14", "laptops", "999.00", "700.00")
        .await;
    let sleeve = app
        .product(&aff, "SLEEVE", "accessories", "29.90", "9.00")
        .await;
    Setup {
        app,
        shop,
        aff,
        laptop,
        sleeve,
    }
}

fn offer(s: &Setup) -> serde_json::Value {
    json!({ "product_id": s.sleeve, "anchor_partner_id": s.shop.id, "anchor_product_ids": [s.laptop],
            "discount_percent": "10", "channels": ["checkout", "post_purchase_email"], "per_customer_cap": 1 })
}

#[tokio::test]
async fn offers_need_the_partnership_in_which_the_anchor_partner_pays() {
    let s = setup().await;
    // The affiliate invited the shop: that partnership pays the shop, never the affiliate,
    // so the affiliate's offer next to the shop's laptop could not earn anything.
    s.app.partnership(&s.aff, &s.shop).await;
    s.app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect_problem(StatusCode::CONFLICT, "no_active_partnership");
}

#[tokio::test]
async fn offers_on_a_partners_products_need_an_active_partnership() {
    let s = setup().await;
    s.app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect_problem(StatusCode::CONFLICT, "no_active_partnership");
    let partnership = s.app.partnership(&s.shop, &s.aff).await;
    let created = s
        .app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.body["status"], "draft");
    assert_eq!(
        created.body["channels"],
        json!(["checkout", "post_purchase_email"])
    );
    let id = created.id();
    // Ending the partnership archives the draft, so it never goes live.
    s.app
        .post(
            &format!("/v1/partnerships/{partnership}/end"),
            Some(&s.shop.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    s.app
        .post(
            &format!("/v1/offers/{id}/publish"),
            Some(&s.aff.token),
            json!({}),
        )
        .await
        .expect_problem(StatusCode::CONFLICT, "invalid_transition");
}

#[tokio::test]
async fn the_offer_life_cycle() {
    let s = setup().await;
    s.app.partnership(&s.shop, &s.aff).await;
    let id = s
        .app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let path = format!("/v1/offers/{id}");
    s.app
        .post(&format!("{path}/pause"), Some(&s.aff.token), json!({}))
        .await
        .expect_problem(StatusCode::CONFLICT, "invalid_transition");
    let active = s
        .app
        .post(&format!("{path}/publish"), Some(&s.aff.token), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(active.body["status"], "active");
    let paused = s
        .app
        .post(&format!("{path}/pause"), Some(&s.aff.token), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(paused.body["status"], "paused");
    s.app
        .post(&format!("{path}/publish"), Some(&s.aff.token), json!({}))
        .await
        .expect(StatusCode::OK);
    let listed = s
        .app
        .get(
            &format!("/v1/offers?status=active&anchor_product_id={}", s.laptop),
            Some(&s.aff.token),
        )
        .await;
    assert_eq!(
        listed.expect(StatusCode::OK).body["items"][0]["id"],
        id.as_str()
    );
    let none = s
        .app
        .get("/v1/offers?status=draft", Some(&s.aff.token))
        .await
        .expect(StatusCode::OK);
    assert!(none.body["items"].as_array().unwrap().is_empty());
    s.app
        .delete(&path, Some(&s.aff.token))
        .await
        .expect_problem(StatusCode::CONFLICT, "offer_not_draft");
    let archived = s
        .app
        .post(&format!("{path}/archive"), Some(&s.aff.token), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(archived.body["status"], "archived");
    s.app
        .post(&format!("{path}/publish"), Some(&s.aff.token), json!({}))
        .await
        .expect_problem(StatusCode::CONFLICT, "invalid_transition");
    s.app
        .patch(
            &path,
            Some(&s.aff.token),
            &archived.etag(),
            json!({ "discount_percent": "5" }),
        )
        .await
        .expect_problem(StatusCode::CONFLICT, "offer_archived");
}

#[tokio::test]
async fn an_offer_competing_with_its_anchor_is_refused() {
    let s = setup().await;
    s.app.partnership(&s.shop, &s.aff).await;
    s.app
        .post(
            "/v1/relations",
            Some(&s.shop.token),
            json!({ "kind": "competing", "from_product_id": s.laptop, "to_product_id": s.sleeve }),
        )
        .await
        .expect(StatusCode::CREATED);
    let refused = s
        .app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect_problem(StatusCode::CONFLICT, "competing_anchor");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("Product LAPTOP-14")
    );
}

#[tokio::test]
async fn offer_terms_are_validated_and_updated_with_etags() {
    let s = setup().await;
    let own = s.app.product(&s.aff, "BAG", "bags", "40", "10").await;
    let bad = s
        .app
        .post(
            "/v1/offers",
            Some(&s.aff.token),
            json!({ "product_id": s.sleeve, "discount_percent": "120", "channels": [],
            "valid_from": "2026-12-01T00:00:00Z", "valid_to": "2026-11-01T00:00:00Z" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        bad.fields(),
        [
            "discount_percent",
            "anchor_product_ids",
            "channels",
            "valid_to"
        ]
    );
    // An offer on the partner's own catalog needs no partnership.
    let created = s
        .app
        .post("/v1/offers", Some(&s.aff.token), json!({ "product_id": s.sleeve, "anchor_product_ids": [own], "discount_percent": "5", "channels": ["support"] }))
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/v1/offers/{}", created.id());
    let updated = s
        .app
        .patch(
            &path,
            Some(&s.aff.token),
            "\"1\"",
            json!({ "discount_percent": "7.5", "channels": ["phone"] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(updated.body["discount_percent"], "7.5");
    assert_eq!(updated.body["channels"], json!(["phone"]));
    assert_eq!(updated.body["anchor_product_ids"], json!([own]));
    s.app
        .patch(
            &path,
            Some(&s.aff.token),
            "\"1\"",
            json!({ "discount_percent": "8" }),
        )
        .await
        .expect_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    s.app
        .delete(&path, Some(&s.aff.token))
        .await
        .expect(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_anchor_of_a_live_offer_cannot_be_deleted_until_the_offer_is_archived() {
    let s = setup().await;
    s.app.partnership(&s.shop, &s.aff).await;
    let id = s
        .app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let path = format!("/v1/offers/{id}");
    s.app
        .post(&format!("{path}/publish"), Some(&s.aff.token), json!({}))
        .await
        .expect(StatusCode::OK);
    let laptop = format!("/v1/products/{}", s.laptop);
    s.app
        .delete(&laptop, Some(&s.shop.token))
        .await
        .expect_problem(StatusCode::CONFLICT, "product_in_use");
    // Nothing changed: the product and the offer's anchor are still there.
    s.app
        .get(&laptop, Some(&s.shop.token))
        .await
        .expect(StatusCode::OK);
    let kept = s
        .app
        .get(&path, Some(&s.aff.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(kept.body["status"], "active");
    assert_eq!(kept.body["anchor_product_ids"], json!([s.laptop]));
    // An archived offer holds no claim on its anchors.
    s.app
        .post(&format!("{path}/archive"), Some(&s.aff.token), json!({}))
        .await
        .expect(StatusCode::OK);
    s.app
        .delete(&laptop, Some(&s.shop.token))
        .await
        .expect(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_archived_offers_rules_cannot_be_replaced() {
    let s = setup().await;
    s.app.partnership(&s.shop, &s.aff).await;
    let id = s
        .app
        .post("/v1/offers", Some(&s.aff.token), offer(&s))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let rules = format!("/v1/offers/{id}/rules");
    s.app
        .put(
            &rules,
            Some(&s.aff.token),
            json!({ "eligibility": ["region = EU"] }),
        )
        .await
        .expect(StatusCode::OK);
    s.app
        .post(
            &format!("/v1/offers/{id}/archive"),
            Some(&s.aff.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    s.app
        .put(
            &rules,
            Some(&s.aff.token),
            json!({ "excluded_relationships": ["auditor"] }),
        )
        .await
        .expect_problem(StatusCode::CONFLICT, "offer_archived");
    let kept = s
        .app
        .get(&rules, Some(&s.aff.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        kept.body,
        json!({ "eligibility": ["region = EU"], "excluded_relationships": [] })
    );
}
