//! Recommendations end to end: each guardrail and exclusion rule is checked against a
//! baseline request that shows the item, so removing the rule fails its test; reasons,
//! offers, impressions, tenancy, operators and bad input.

use axum::http::StatusCode;
use cosell_core::{PartnerId, ProductId};
use cosell_reco::{MinSupport, Subject};
use cosell_store::customers::ShownImpression;
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, TestPartner};

/// A shop selling a laptop with a mouse as its accessory, and a partner (`acme`) with
/// an active partnership whose live offer of a warranty is anchored on the laptop.
struct Shop {
    app: TestApp,
    shop: TestPartner,
    acme: TestPartner,
    partnership: String,
    laptop: String,
    mouse: String,
    warranty: String,
    offer: String,
}

async fn shop() -> Shop {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let acme = app.partner("acme").await;
    let laptop = app
        .product(&shop, "LAPTOP", "laptops", "1000.00", "800.00")
        .await;
    let mouse = app.product(&shop, "MOUSE", "mice", "30.00", "10.00").await;
    relate(&app, &shop, "accessory", &laptop, &mouse).await;
    let partnership = app.partnership(&shop, &acme).await;
    let warranty = app
        .product(&acme, "WARRANTY", "services", "100.00", "40.00")
        .await;
    let offer = live_offer(&app, &acme, &shop, &warranty, &laptop, json!({})).await;
    Shop {
        app,
        shop,
        acme,
        partnership,
        laptop,
        mouse,
        warranty,
        offer,
    }
}

async fn relate(app: &TestApp, owner: &TestPartner, kind: &str, from: &str, to: &str) {
    app.post(
        "/v1/relations",
        Some(&owner.token),
        json!({ "kind": kind, "from_product_id": from, "to_product_id": to }),
    )
    .await
    .expect(StatusCode::CREATED);
}

/// A published offer of `product` next to `anchor`, 10% off at checkout; `extra` overrides.
async fn live_offer(
    app: &TestApp,
    seller: &TestPartner,
    merchant: &TestPartner,
    product: &str,
    anchor: &str,
    extra: Value,
) -> String {
    let body = merged(
        json!({ "product_id": product, "anchor_partner_id": merchant.id,
            "anchor_product_ids": [anchor], "discount_percent": "10", "channels": ["checkout"] }),
        extra,
    );
    let id = app
        .post("/v1/offers", Some(&seller.token), body)
        .await
        .expect(StatusCode::CREATED)
        .id();
    act(app, &format!("/v1/offers/{id}/publish"), seller).await;
    id
}

/// `base` with the fields of `change` added or replaced.
fn merged(mut base: Value, change: Value) -> Value {
    if let (Some(base), Value::Object(change)) = (base.as_object_mut(), change) {
        base.extend(change);
    }
    base
}

/// A state change (`POST …/publish`, `…/pause`, `…/end`) that must succeed.
async fn act(app: &TestApp, path: &str, caller: &TestPartner) {
    app.post(path, Some(&caller.token), json!({}))
        .await
        .expect(StatusCode::OK);
}

/// Reads `path` for its ETag and patches `change` onto it.
async fn patch(app: &TestApp, path: &str, caller: &TestPartner, change: Value) {
    let etag = app.get(path, Some(&caller.token)).await.etag();
    app.patch(path, Some(&caller.token), &etag, change)
        .await
        .expect(StatusCode::OK);
}

/// A satisfied customer who consents to every channel and prefers the phone; `change`
/// overrides fields.
fn profile(change: Value) -> Value {
    merged(
        json!({ "satisfaction": "ok", "consents": ["web", "email", "phone"],
            "preferred_channel": "phone", "currency": "EUR", "service_cost": "10", "revenue": "500" }),
        change,
    )
}

impl Shop {
    async fn customer(&self, reference: &str, change: Value) {
        self.app
            .put(
                &format!("/v1/customers/{reference}"),
                Some(&self.shop.token),
                profile(change),
            )
            .await
            .expect(StatusCode::CREATED);
    }

    /// The shop's recommendations for a cart of the laptop at checkout on the web;
    /// `change` overrides fields of the request.
    async fn ask(&self, change: Value) -> Reply {
        self.app
            .post(
                "/v1/recommendations",
                Some(&self.shop.token),
                self.body(change),
            )
            .await
    }

    /// `ask` on a task of its own, to run requests at the same time.
    fn spawn_ask(&self, change: Value) -> tokio::task::JoinHandle<Reply> {
        self.app.spawn_post(
            "/v1/recommendations",
            Some(&self.shop.token),
            self.body(change),
        )
    }

    fn body(&self, change: Value) -> Value {
        merged(
            json!({ "anchor_product_ids": [self.laptop], "moment": "checkout", "channel": "web" }),
            change,
        )
    }

    /// The products of a successful, unsuppressed answer.
    async fn shown(&self, change: Value) -> Vec<String> {
        let reply = self.ask(change).await.expect(StatusCode::OK);
        assert_eq!(reply.body["suppressed"], Value::Null, "{}", reply.body);
        products(&reply)
    }

    async fn suppressed(&self, change: Value) -> String {
        let reply = self.ask(change).await.expect(StatusCode::OK);
        assert_eq!(reply.body["items"], json!([]), "{}", reply.body);
        reply.body["suppressed"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn products(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["product_id"].as_str().map(str::to_owned))
        .collect()
}

/// The answer's item for product or bundle `id`.
fn item<'a>(reply: &'a Reply, id: &str) -> &'a Value {
    reply.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["product_id"] == id || i["bundle_id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in {}", reply.body))
}

#[tokio::test]
async fn items_carry_product_partner_offer_price_score_and_reasons() {
    let s = shop().await;
    let reply = s.ask(json!({})).await.expect(StatusCode::OK);
    let mouse = item(&reply, &s.mouse);
    assert_eq!(mouse["kind"], "product");
    assert_eq!(mouse["partner_id"], s.shop.id);
    assert_eq!(mouse["offer"], Value::Null);
    assert_eq!(mouse["price"], "30.00");
    assert_eq!(mouse["currency"], "EUR");
    assert!(mouse["score"].as_f64().unwrap() > 0.0);
    assert_eq!(mouse["reasons"], json!(["accessory of Product LAPTOP"]));
    assert!(mouse["tracking_ref"].is_string());

    let warranty = item(&reply, &s.warranty);
    assert_eq!(warranty["partner_id"], s.acme.id);
    assert_eq!(warranty["offer"]["offer_id"], s.offer);
    assert_eq!(warranty["offer"]["discount_percent"], "10");
    assert_eq!(warranty["offer"]["partner_name"], "ACME");
    assert_eq!(warranty["price"], "90.00");
    assert_eq!(
        warranty["reasons"],
        json!(["partner offer from ACME, 10% off"])
    );
}

/// The shop's sale of the warranty at its offer price, `seconds` after now.
async fn warranty_sale(s: &Shop, order_id: &str, customer: &str, click_id: Option<&str>) -> Value {
    let mut body = crate::sales::order(
        order_id,
        customer,
        chrono::Utc::now() + chrono::Duration::seconds(1),
        &[("WARRANTY", 1, "90.00")],
    );
    body["click_id"] = json!(click_id);
    crate::sales::convert(&s.app, &s.shop, body).await
}

#[tokio::test]
async fn a_sale_after_a_shown_partner_offer_credits_the_partner() {
    let s = shop().await;
    // An anonymous visitor: the sale carries the item's tracking_ref as its click id.
    let reply = s.ask(json!({})).await.expect(StatusCode::OK);
    let offer_ref = item(&reply, &s.warranty)["tracking_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let own_ref = item(&reply, &s.mouse)["tracking_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    // A known customer: the same reference is enough.
    s.customer("ann", json!({})).await;
    s.ask(json!({ "customer_ref": "ann" }))
        .await
        .expect(StatusCode::OK);
    // No flush: the sales come at once, while the impressions may still be queued.

    let by_ref = warranty_sale(&s, "o-anon", "visitor-1", Some(&offer_ref)).await;
    let by_customer = warranty_sale(&s, "o-ann", "ann", None).await;
    for sale in [&by_ref, &by_customer] {
        assert_eq!(sale["credits"].as_array().unwrap().len(), 1, "{sale}");
        assert_eq!(sale["credits"][0]["partner_id"], s.acme.id.as_str());
        assert_eq!(sale["credits"][0]["amount"], "90.00");
        assert_eq!(sale["credits"][0]["commission"], "9.00");
    }
    // The shop's own item is not a partner's touchpoint; a stranger's sale has none.
    let by_own = warranty_sale(&s, "o-own", "visitor-2", Some(&own_ref)).await;
    let stranger = warranty_sale(&s, "o-none", "visitor-3", None).await;
    for sale in [&by_own, &stranger] {
        assert_eq!(sale["credits"], json!([]), "{sale}");
    }
}

#[tokio::test]
async fn an_anonymous_answer_stores_only_the_partner_offers_touchpoint() {
    let s = shop().await;
    let anonymous = s.ask(json!({})).await.expect(StatusCode::OK);
    assert!(anonymous.body["items"].as_array().unwrap().len() >= 2);
    s.app.state.impressions().flush().await;
    // No customer, no cap to count against: the shop's own items leave no row; the
    // warranty offer is ACME's impression touchpoint, keyed by its tracking_ref.
    assert_eq!(s.app.rows_in("recommendation_impressions").await, 0);
    assert_eq!(s.app.rows_in("touchpoints").await, 1);

    s.customer("ann", json!({})).await;
    let known = s
        .ask(json!({ "customer_ref": "ann" }))
        .await
        .expect(StatusCode::OK);
    s.app.state.impressions().flush().await;
    let items = known.body["items"].as_array().unwrap().len() as i64;
    assert_eq!(s.app.rows_in("recommendation_impressions").await, items);
    assert_eq!(s.app.rows_in("touchpoints").await, 2);
}

#[tokio::test]
async fn each_guardrail_suppresses_with_its_reason_code() {
    let s = shop().await;
    s.customer("fine", json!({})).await;
    // The baseline: the same customer, untroubled, is shown items on every channel.
    for channel in ["web", "email", "phone"] {
        let shown = s
            .shown(json!({ "customer_ref": "fine", "channel": channel, "limit": 1 }))
            .await;
        assert_eq!(shown.len(), 1, "{channel}");
    }
    let cases = [
        (
            json!({ "satisfaction": "open_complaint" }),
            "web",
            "open_complaint",
        ),
        (json!({ "satisfaction": "at_risk" }), "web", "at_risk"),
        (json!({ "return_rate": "0.45" }), "web", "chronic_returner"),
        (
            json!({ "service_cost": "600", "revenue": "500" }),
            "web",
            "unprofitable",
        ),
        (
            json!({ "consents": ["web", "phone"] }),
            "email",
            "no_consent",
        ),
        (
            json!({ "preferred_channel": "email" }),
            "phone",
            "channel_not_preferred",
        ),
    ];
    for (i, (change, channel, code)) in cases.into_iter().enumerate() {
        let reference = format!("c{i}");
        s.customer(&reference, change).await;
        let got = s
            .suppressed(json!({ "customer_ref": reference, "channel": channel }))
            .await;
        assert_eq!(got, code);
    }
    // An open complaint suppresses at every moment, not only at checkout.
    let got = s
        .suppressed(json!({ "customer_ref": "c0", "moment": "support_resolved" }))
        .await;
    assert_eq!(got, "open_complaint");
    // A visitor without a profile has consented to nothing beyond the web page.
    assert_eq!(
        s.suppressed(json!({ "channel": "email" })).await,
        "no_consent"
    );
    assert_eq!(s.shown(json!({})).await.len(), 2);
}

#[tokio::test]
async fn the_contact_cap_counts_recorded_impressions() {
    let s = shop().await;
    s.customer("busy", json!({})).await;
    for _ in 0..3 {
        let shown = s.shown(json!({ "customer_ref": "busy", "limit": 1 })).await;
        assert_eq!(shown.len(), 1);
    }
    assert_eq!(
        s.suppressed(json!({ "customer_ref": "busy" })).await,
        "contact_cap_reached"
    );
    // The cap is per customer: another one is still served.
    s.customer("calm", json!({})).await;
    assert_eq!(s.shown(json!({ "customer_ref": "calm" })).await.len(), 2);
    // Below the cap the answer is cut to the contacts left.
    let shown = s.shown(json!({ "customer_ref": "calm", "limit": 3 })).await;
    assert_eq!(shown.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_requests_for_one_customer_cannot_exceed_the_contact_cap() {
    let s = shop().await;
    s.customer("eager", json!({})).await;
    let asks = (0..8).map(|_| s.spawn_ask(json!({ "customer_ref": "eager", "limit": 1 })));
    let replies: Vec<Reply> = futures::future::join_all(asks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut refs = std::collections::HashSet::new();
    for reply in &replies {
        let reply_items = reply.body["items"].as_array().unwrap();
        refs.extend(reply_items.iter().map(|i| i["tracking_ref"].clone()));
    }
    assert_eq!(refs.len(), 3, "the cap is 3: {replies:?}");
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.body["suppressed"] == "contact_cap_reached")
            .count(),
        5
    );
    // Every impression shown reaches the database once the writer has caught up.
    s.app.state.impressions().flush().await;
    let shop_id = PartnerId(s.shop.id.parse().unwrap());
    assert_eq!(
        s.app
            .store
            .impression_count(shop_id, "eager")
            .await
            .unwrap(),
        3
    );
}

#[tokio::test]
async fn an_impression_counts_once_whether_written_yet_or_not() {
    let s = shop().await;
    s.customer("ann", json!({})).await;
    let shop_id = PartnerId(s.shop.id.parse().unwrap());
    let now = chrono::Utc::now();
    let eur = cosell_core::Currency::parse("EUR").unwrap();
    let shown = |id: uuid::Uuid| ShownImpression {
        id,
        merchant: shop_id,
        customer_ref: Some("ann".into()),
        subject: Subject::Product(ProductId(s.mouse.parse().unwrap())),
        offer: None,
        shown_at: now,
    };
    let (written, pending) = (shown(uuid::Uuid::now_v7()), shown(uuid::Uuid::now_v7()));
    s.app
        .store
        .insert_impressions(std::slice::from_ref(&written))
        .await
        .unwrap();
    let store = &s.app.store;
    let count = |unflushed: Vec<ShownImpression>| async move {
        store
            .customer_profile(shop_id, "ann", eur, now, &unflushed)
            .await
            .unwrap()
            .shown_last_7_days
            .len()
    };
    assert_eq!(count(vec![]).await, 1);
    // Not yet written: counted from memory.
    assert_eq!(count(vec![pending.clone()]).await, 2);
    // Written and still listed as unflushed (the writer commits, then forgets): once.
    assert_eq!(count(vec![written.clone(), pending]).await, 2);
    // Another customer's or an older impression does not count.
    let other = ShownImpression {
        customer_ref: Some("bob".into()),
        ..shown(uuid::Uuid::now_v7())
    };
    let old = ShownImpression {
        shown_at: now - chrono::Duration::days(8),
        ..shown(uuid::Uuid::now_v7())
    };
    assert_eq!(count(vec![other, old]).await, 1);
    // Nor does a stored one of another customer or of 8 days ago.
    let stored_elsewhere = [
        ShownImpression {
            customer_ref: Some("bob".into()),
            ..shown(uuid::Uuid::now_v7())
        },
        ShownImpression {
            shown_at: now - chrono::Duration::days(8),
            ..shown(uuid::Uuid::now_v7())
        },
    ];
    store.insert_impressions(&stored_elsewhere).await.unwrap();
    assert_eq!(count(vec![]).await, 1);
    // A customer whose only impressions are old is still known, with none counted.
    s.customer("carl", json!({})).await;
    let carls_old = ShownImpression {
        customer_ref: Some("carl".into()),
        shown_at: now - chrono::Duration::days(8),
        ..shown(uuid::Uuid::now_v7())
    };
    store.insert_impressions(&[carls_old]).await.unwrap();
    let carl = store.customer_profile(shop_id, "carl", eur, now, &[]).await;
    assert_eq!(carl.unwrap().shown_last_7_days.len(), 0);
}

impl Shop {
    /// The shop's bundle "Laptop kit" of the laptop and the mouse (1,030.00 listed),
    /// `discount_percent` off, with a margin floor of 150.00.
    async fn laptop_kit(&self, discount_percent: &str) -> Reply {
        self.app
            .post(
                "/v1/bundles",
                Some(&self.shop.token),
                json!({ "name": "Laptop kit", "currency": "EUR", "discount_percent": discount_percent,
                        "margin_floor": "150.00", "product_ids": [self.laptop, self.mouse] }),
            )
            .await
            .expect(StatusCode::CREATED)
    }

    /// A sale of the laptop (100.00) and the mouse (30.00) to `customer`, of which
    /// `refund_lines` are refunded; returns the conversion.
    async fn sale_with_refunds(&self, order_id: &str, customer: &str, refund_lines: &[usize]) {
        let sale = crate::sales::convert(
            &self.app,
            &self.shop,
            crate::sales::order(
                order_id,
                customer,
                crate::sales::minutes(-5),
                &[("LAPTOP", 1, "100.00"), ("MOUSE", 1, "30.00")],
            ),
        )
        .await;
        let path = format!("/v1/conversions/{}/refunds", sale["id"].as_str().unwrap());
        for line in refund_lines {
            self.app
                .post(
                    &path,
                    Some(&self.shop.token),
                    json!({ "lines": [{ "line": line, "quantity": 1 }] }),
                )
                .await
                .expect(StatusCode::CREATED);
        }
    }
}

#[tokio::test]
async fn return_rate_and_revenue_left_out_are_computed_from_conversions_and_refunds() {
    let s = shop().await;
    // No return rate declared: Cosell computes refunded / sold. (One item an answer, so
    // the contact cap of 3 stays out of the way.)
    s.customer("keeper", json!({})).await;
    s.customer("returner", json!({})).await;
    assert_eq!(
        s.shown(json!({ "customer_ref": "returner" })).await.len(),
        2
    );
    // 30 of 130 refunded (23 %) is under the 30 % threshold; 100 of 130 (77 %) is over.
    s.sale_with_refunds("o-keep", "keeper", &[1]).await;
    s.sale_with_refunds("o-ret", "returner", &[0]).await;
    assert_eq!(
        s.shown(json!({ "customer_ref": "keeper", "limit": 1 }))
            .await
            .len(),
        1
    );
    assert_eq!(
        s.suppressed(json!({ "customer_ref": "returner" })).await,
        "chronic_returner"
    );
    // A declared rate is the merchant's word and wins over the data.
    s.app
        .put(
            "/v1/customers/returner",
            Some(&s.shop.token),
            profile(json!({ "return_rate": "0" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        s.shown(json!({ "customer_ref": "returner", "limit": 1 }))
            .await
            .len(),
        1
    );
    // Revenue left out is what was sold less refunds: 130 − 100 = 30, under the declared
    // service cost of 40.
    let reply = s
        .app
        .put(
            "/v1/customers/returner",
            Some(&s.shop.token),
            merged(
                profile(json!({ "return_rate": "0", "service_cost": "40" })),
                json!({ "revenue": null }),
            ),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.body["revenue"], Value::Null);
    assert_eq!(
        s.suppressed(json!({ "customer_ref": "returner" })).await,
        "unprofitable"
    );
}

#[tokio::test]
async fn service_cost_left_out_is_the_commission_credited_on_the_customers_sales() {
    let s = shop().await;
    s.customer(
        "cora",
        merged(
            json!({ "revenue": "5", "return_rate": "0" }),
            json!({ "service_cost": null }),
        ),
    )
    .await;
    let first = s.ask(json!({ "customer_ref": "cora", "limit": 2 })).await;
    assert!(products(&first.expect(StatusCode::OK)).contains(&s.warranty));
    // The partner's offer shown to Cora earns it 9.00 on her sale: more than the 5.00 of
    // revenue the merchant declared.
    let sale = warranty_sale(&s, "o-cora", "cora", None).await;
    assert_eq!(sale["credits"][0]["commission"], "9.00");
    // The sale is dated a second after the answer; figures count sales up to now.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        s.suppressed(json!({ "customer_ref": "cora" })).await,
        "unprofitable"
    );
    // Refunded in full, the sale's commission is reversed: it costs nothing any more, as
    // it brings no revenue (gross of refunds, the 9.00 kept her suppressed).
    let refunds = format!("/v1/conversions/{}/refunds", sale["id"].as_str().unwrap());
    s.app
        .post(&refunds, Some(&s.shop.token), json!({}))
        .await
        .expect(StatusCode::CREATED);
    let after = s.ask(json!({ "customer_ref": "cora" })).await;
    assert_eq!(after.expect(StatusCode::OK).body["suppressed"], Value::Null);
}

#[tokio::test]
async fn a_product_competing_with_an_anchor_is_never_recommended() {
    let s = shop().await;
    let rival = s
        .app
        .product(&s.shop, "TRACKPAD", "pointing", "50.00", "20.00")
        .await;
    let dock = s
        .app
        .product(&s.shop, "DOCK", "docks", "80.00", "30.00")
        .await;
    assert!(
        s.shown(json!({ "anchor_product_ids": [s.laptop, dock] }))
            .await
            .contains(&s.mouse)
    );
    relate(&s.app, &s.shop, "competing", &rival, &s.mouse).await;
    let shown = s
        .shown(json!({ "anchor_product_ids": [s.laptop, rival] }))
        .await;
    assert!(!shown.contains(&s.mouse), "{shown:?}");
    assert!(shown.contains(&s.warranty));
}

#[tokio::test]
async fn the_anchors_own_category_is_left_out_unless_the_anchor_is_an_accessory() {
    let s = shop().await;
    let bigger = s
        .app
        .product(&s.shop, "LAPTOP-16", "laptops", "1500.00", "1100.00")
        .await;
    relate(&s.app, &s.shop, "upgrade", &s.laptop, &bigger).await;
    let shown = s.shown(json!({})).await;
    assert!(!shown.contains(&bigger), "{shown:?}");
    assert!(shown.contains(&s.mouse));

    // An accessory-type anchor may be followed by more of its own category.
    let cable = accessory(&s, "CABLE").await;
    let adapter = accessory(&s, "ADAPTER").await;
    relate(&s.app, &s.shop, "complementary", &cable, &adapter).await;
    let shown = s.shown(json!({ "anchor_product_ids": [cable] })).await;
    assert_eq!(shown, vec![adapter]);
}

async fn accessory(s: &Shop, sku: &str) -> String {
    s.app
        .post(
            "/v1/products",
            Some(&s.shop.token),
            json!({ "sku": sku, "title": sku, "category": "cables", "price": "15.00", "unit_cost": "3.00",
                    "currency": "EUR", "attributes": { "accessory_type": true } }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id()
}

#[tokio::test]
async fn nothing_in_the_cart_or_already_bought_is_recommended() {
    let s = shop().await;
    s.customer("new", json!({})).await;
    assert!(
        s.shown(json!({ "customer_ref": "new" }))
            .await
            .contains(&s.mouse)
    );
    let shown = s
        .shown(json!({ "anchor_product_ids": [s.laptop, s.mouse] }))
        .await;
    assert!(!shown.contains(&s.mouse));
    s.customer("owner", json!({ "purchased_product_ids": [s.mouse] }))
        .await;
    let shown = s.shown(json!({ "customer_ref": "owner" })).await;
    assert!(!shown.contains(&s.mouse), "{shown:?}");
    assert!(shown.contains(&s.warranty));
}

#[tokio::test]
async fn inactive_products_are_never_recommended() {
    let s = shop().await;
    assert!(s.shown(json!({})).await.contains(&s.mouse));
    let path = format!("/v1/products/{}", s.mouse);
    patch(&s.app, &path, &s.shop, json!({ "active": false })).await;
    assert_eq!(s.shown(json!({})).await, vec![s.warranty.clone()]);
}

#[tokio::test]
async fn paused_expired_and_off_channel_offers_are_never_shown() {
    let s = shop().await;
    // An expired offer beside the live one: same partner, anchor and terms.
    let plan = s
        .app
        .product(&s.acme, "PLAN", "plans", "60.00", "20.00")
        .await;
    live_offer(
        &s.app,
        &s.acme,
        &s.shop,
        &plan,
        &s.laptop,
        json!({ "valid_from": "2020-01-01T00:00:00Z", "valid_to": "2020-02-01T00:00:00Z" }),
    )
    .await;
    let shown = s.shown(json!({ "limit": 10 })).await;
    assert!(shown.contains(&s.warranty));
    assert!(!shown.contains(&plan), "{shown:?}");

    // The live offer is for checkout only: not in a post-purchase email.
    s.customer("mail", json!({})).await;
    let shown = s
        .shown(json!({ "customer_ref": "mail", "channel": "email", "moment": "post_purchase" }))
        .await;
    assert!(!shown.contains(&s.warranty), "{shown:?}");
    assert!(shown.contains(&s.mouse));

    act(&s.app, &format!("/v1/offers/{}/pause", s.offer), &s.acme).await;
    assert_eq!(s.shown(json!({})).await, vec![s.mouse.clone()]);
}

#[tokio::test]
async fn a_product_twice_in_the_cart_is_one_anchor() {
    let s = shop().await;
    let once = s.ask(json!({})).await.expect(StatusCode::OK);
    let twice = s
        .ask(json!({ "anchor_product_ids": [s.laptop, s.laptop] }))
        .await
        .expect(StatusCode::OK);
    let mouse = |reply: &Reply| item(reply, &s.mouse).clone();
    assert_eq!(mouse(&twice)["score"], mouse(&once)["score"]);
    assert_eq!(
        mouse(&twice)["reasons"],
        json!(["accessory of Product LAPTOP"])
    );
}

#[tokio::test]
async fn a_relation_weighted_zero_is_no_reason_to_recommend() {
    let s = shop().await;
    let bag = s
        .app
        .product(&s.shop, "BAG", "bags", "50.00", "20.00")
        .await;
    s.app
        .post(
            "/v1/relations",
            Some(&s.shop.token),
            json!({ "kind": "complementary", "from_product_id": s.laptop, "to_product_id": bag,
                    "weight": "0" }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert!(!s.shown(json!({})).await.contains(&bag));
}

#[tokio::test]
async fn a_suspended_partners_offers_are_never_shown() {
    let s = shop().await;
    assert!(s.shown(json!({})).await.contains(&s.warranty));
    let suspend = format!("/v1/partners/{}/suspend", s.acme.id);
    s.app
        .post(&suspend, Some(&s.app.operator), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(s.shown(json!({})).await, vec![s.mouse.clone()]);
}

#[tokio::test]
async fn offers_need_an_active_partnership_with_the_merchant() {
    let s = shop().await;
    assert!(s.shown(json!({})).await.contains(&s.warranty));
    act(
        &s.app,
        &format!("/v1/partnerships/{}/end", s.partnership),
        &s.shop,
    )
    .await;
    assert_eq!(s.shown(json!({})).await, vec![s.mouse.clone()]);
    // A partnership the other way round pays the shop, not acme: its offer stays out.
    s.app.partnership(&s.acme, &s.shop).await;
    assert_eq!(s.shown(json!({})).await, vec![s.mouse.clone()]);
}

/// `seller` sells `sku` (category `category`, 100 EUR) through a live offer next to the
/// shop's laptop, under an active partnership with the shop on `terms`.
async fn offer_under_terms(
    s: &Shop,
    seller: &str,
    sku: &str,
    category: &str,
    terms: Value,
) -> String {
    let seller = s.app.partner(seller).await;
    let invite = merged(json!({ "invitee_id": seller.id, "currency": "EUR" }), terms);
    let partnership = s
        .app
        .post("/v1/partnerships", Some(&s.shop.token), invite)
        .await
        .expect(StatusCode::CREATED)
        .id();
    act(
        &s.app,
        &format!("/v1/partnerships/{partnership}/accept"),
        &seller,
    )
    .await;
    let product = s
        .app
        .product(&seller, sku, category, "100.00", "40.00")
        .await;
    live_offer(&s.app, &seller, &s.shop, &product, &s.laptop, json!({})).await;
    product
}

#[tokio::test]
async fn partner_offers_are_valued_by_percentage_and_flat_commission() {
    let s = shop().await;
    // Each offer is 10 % off 100 EUR: the shop earns 9 EUR on acme's warranty (10 %),
    // 20 EUR on a flat-only partnership's insurance, and 9 + 5 EUR on a partnership with
    // a 10 % category rate (1 % base) and a 5 EUR flat fee.
    let insurance = offer_under_terms(
        &s,
        "flatco",
        "INSURANCE",
        "insurance",
        json!({ "commission_flat": "20" }),
    )
    .await;
    let support = offer_under_terms(
        &s,
        "mixco",
        "SUPPORT",
        "support",
        json!({ "commission_percent": "1", "category_rates": { "support": "10" }, "commission_flat": "5" }),
    )
    .await;
    let reply = s.ask(json!({ "limit": 4 })).await.expect(StatusCode::OK);
    // Offers are equally relevant (anchored on the laptop): what they earn orders them.
    assert_eq!(
        products(&reply),
        vec![
            s.mouse.clone(),
            insurance.clone(),
            support,
            s.warranty.clone()
        ]
    );
    // The score is relevance 0.6 × (1 + v / (v + 50)) with v the commission of one sale.
    let score = item(&reply, &insurance)["score"].as_f64().unwrap();
    assert!((score - 0.6 * (1.0 + 20.0 / 70.0)).abs() < 1e-9, "{score}");
    assert_eq!(
        item(&reply, &insurance)["reasons"],
        json!(["partner offer from FLATCO, 10% off"])
    );
}

#[tokio::test]
async fn a_customer_without_a_profile_is_capped_like_any_other() {
    let s = shop().await;
    let path = format!("/v1/offers/{}", s.offer);
    patch(&s.app, &path, &s.acme, json!({ "per_customer_cap": 1 })).await;
    let ghost = json!({ "customer_ref": "ghost" });
    assert_eq!(s.shown(ghost.clone()).await.len(), 2);
    // One contact left of the 7-day cap of 3, and the offer's own cap of 1 is used up.
    assert_eq!(s.shown(ghost.clone()).await, vec![s.mouse.clone()]);
    assert_eq!(s.suppressed(ghost).await, "contact_cap_reached");
    // With no consent on record, only the web is open to it, as to an anonymous visitor.
    assert_eq!(
        s.suppressed(json!({ "customer_ref": "ghost2", "channel": "email" }))
            .await,
        "no_consent"
    );
}

#[tokio::test]
async fn products_bought_in_recorded_conversions_are_not_recommended_again() {
    let s = shop().await;
    let bought_mouse = crate::sales::order(
        "MOUSE-1",
        "buyer",
        chrono::Utc::now() - chrono::Duration::minutes(1),
        &[("MOUSE", 1, "30.00")],
    );
    crate::sales::convert(&s.app, &s.shop, bought_mouse).await;
    // Without any profile, then with one that declares no purchase.
    let shown = s
        .shown(json!({ "customer_ref": "buyer", "limit": 1 }))
        .await;
    assert!(!shown.contains(&s.mouse), "{shown:?}");
    s.customer("buyer", json!({})).await;
    let shown = s.shown(json!({ "customer_ref": "buyer" })).await;
    assert!(!shown.contains(&s.mouse), "{shown:?}");
    assert!(shown.contains(&s.warranty));
    assert!(
        s.shown(json!({ "customer_ref": "someone-else" }))
            .await
            .contains(&s.mouse)
    );
}

#[tokio::test]
async fn an_offer_per_customer_cap_stops_the_offer_not_the_customer() {
    let s = shop().await;
    let path = format!("/v1/offers/{}", s.offer);
    patch(&s.app, &path, &s.acme, json!({ "per_customer_cap": 1 })).await;
    // Owning the mouse leaves the offer as the only candidate.
    s.customer("once", json!({ "purchased_product_ids": [s.mouse] }))
        .await;
    let first = s.shown(json!({ "customer_ref": "once" })).await;
    assert_eq!(first, vec![s.warranty.clone()]);
    assert_eq!(
        s.shown(json!({ "customer_ref": "once" })).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn offers_respect_eligibility_rules_and_conflicts_of_interest() {
    let s = shop().await;
    let rules = format!("/v1/offers/{}/rules", s.offer);
    s.app
        .put(
            &rules,
            Some(&s.acme.token),
            json!({ "eligibility": ["region in [EU, UK]", "verified = true"], "excluded_relationships": ["auditor"] }),
        )
        .await
        .expect(StatusCode::OK);
    let stored = s
        .app
        .get(&rules, Some(&s.acme.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(stored.body["excluded_relationships"], json!(["auditor"]));

    let eligible = json!({ "region": "EU", "verified": true });
    s.customer("eu", json!({ "attributes": eligible })).await;
    s.customer(
        "us",
        json!({ "attributes": { "region": "US", "verified": true } }),
    )
    .await;
    s.customer("unverified", json!({ "attributes": { "region": "EU" } }))
        .await;
    s.customer(
        "audited",
        json!({ "attributes": eligible, "relationships": [{ "partner_id": s.acme.id, "kind": "auditor" }] }),
    )
    .await;
    s.customer(
        "resold",
        json!({ "attributes": eligible, "relationships": [{ "partner_id": s.acme.id, "kind": "reseller" }] }),
    )
    .await;
    for (customer, sees) in [
        ("eu", true),
        ("resold", true),
        ("us", false),
        ("unverified", false),
        ("audited", false),
    ] {
        let shown = s.shown(json!({ "customer_ref": customer })).await;
        assert_eq!(shown.contains(&s.warranty), sees, "{customer}: {shown:?}");
        assert!(shown.contains(&s.mouse), "{customer}");
    }
    // An anonymous visitor cannot meet a rule.
    assert_eq!(s.shown(json!({})).await, vec![s.mouse.clone()]);
}

#[tokio::test]
async fn a_bundle_is_proposed_while_its_margin_floor_holds() {
    let s = shop().await;
    let bundle = s.laptop_kit("5").await.id();
    let reply = s.ask(json!({ "limit": 10 })).await.expect(StatusCode::OK);
    let kit = item(&reply, &bundle);
    assert_eq!(kit["kind"], "bundle");
    assert_eq!(kit["name"], "Laptop kit");
    assert_eq!(kit["price"], "978.50");
    assert_eq!(
        kit["reasons"],
        json!(["bundle with Product LAPTOP, saves 51.50 EUR"])
    );

    // The mouse got dearer to make: 978.50 − 800 − 29 = 149.50, below the floor of 150.
    let path = format!("/v1/products/{}", s.mouse);
    patch(&s.app, &path, &s.shop, json!({ "unit_cost": "29.00" })).await;
    let reply = s.ask(json!({ "limit": 10 })).await.expect(StatusCode::OK);
    assert!(
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] == "product"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn discounted_prices_round_half_cents_up_as_the_bundles_api_does() {
    let s = shop().await;
    // 1,030.00 less 0.05% is 1,029.485; 100.00 less 0.015% is 99.985.
    let created = s.laptop_kit("0.05").await;
    assert_eq!(created.body["pricing"]["price"], "1029.49");
    let kit = created.id();
    let cable = s
        .app
        .product(&s.acme, "CABLE", "cables", "100.00", "20.00")
        .await;
    live_offer(
        &s.app,
        &s.acme,
        &s.shop,
        &cable,
        &s.laptop,
        json!({ "discount_percent": "0.015" }),
    )
    .await;
    let reply = s.ask(json!({ "limit": 10 })).await.expect(StatusCode::OK);
    // The price the bundles API stated, not a cent less.
    assert_eq!(item(&reply, &kit)["price"], "1029.49");
    assert_eq!(item(&reply, &cable)["price"], "99.99");
}

#[tokio::test]
async fn merchants_never_see_each_others_customers_products_or_offers() {
    let s = shop().await;
    let other = s.app.partner("other").await;
    let phone = s
        .app
        .product(&other, "PHONE", "phones", "500.00", "300.00")
        .await;
    let case = s
        .app
        .product(&other, "CASE", "cases", "20.00", "5.00")
        .await;
    relate(&s.app, &other, "accessory", &phone, &case).await;
    s.customer("angry", json!({ "satisfaction": "open_complaint" }))
        .await;

    // The shop's customer is unknown to the other merchant, under the same reference.
    s.app
        .get("/v1/customers/angry", Some(&other.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let reply = s
        .app
        .post(
            "/v1/recommendations",
            Some(&other.token),
            json!({ "customer_ref": "angry", "anchor_product_ids": [phone], "moment": "checkout", "channel": "web" }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.body["suppressed"], Value::Null);
    // Acme has no partnership with the other merchant: its offers never reach it.
    assert_eq!(products(&reply), vec![case]);

    // Another merchant's product is not an anchor this merchant can use.
    s.app
        .post(
            "/v1/recommendations",
            Some(&other.token),
            json!({ "anchor_product_ids": [s.laptop], "moment": "checkout", "channel": "web" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Nor can a partner ask on another merchant's behalf.
    s.app
        .post(
            "/v1/recommendations",
            Some(&other.token),
            json!({ "merchant_id": s.shop.id, "anchor_product_ids": [s.laptop], "moment": "checkout", "channel": "web" }),
        )
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn another_merchants_impressions_and_refunds_never_count_for_a_customer() {
    let s = shop().await;
    let other = s.app.partner("other").await;
    let phone = s
        .app
        .product(&other, "PHONE", "phones", "500.00", "300.00")
        .await;
    let case = s
        .app
        .product(&other, "CASE", "cases", "20.00", "5.00")
        .await;
    relate(&s.app, &other, "accessory", &phone, &case).await;
    // The same reference at both merchants; neither declares a return rate.
    s.customer("sam", json!({})).await;
    s.app
        .put("/v1/customers/sam", Some(&other.token), profile(json!({})))
        .await
        .expect(StatusCode::CREATED);
    // At the other merchant, Sam is shown recommendations up to the cap and returns all.
    for _ in 0..3 {
        s.app
            .post(
                "/v1/recommendations",
                Some(&other.token),
                json!({ "customer_ref": "sam", "anchor_product_ids": [phone], "moment": "checkout", "channel": "web", "limit": 1 }),
            )
            .await
            .expect(StatusCode::OK);
    }
    let sale = crate::sales::convert(
        &s.app,
        &other,
        crate::sales::order(
            "o-1",
            "sam",
            crate::sales::minutes(-5),
            &[("PHONE", 1, "500.00")],
        ),
    )
    .await;
    s.app
        .post(
            &format!("/v1/conversions/{}/refunds", sale["id"].as_str().unwrap()),
            Some(&other.token),
            json!({ "lines": [{ "line": 0, "quantity": 1 }] }),
        )
        .await
        .expect(StatusCode::CREATED);
    // The shop still has all three contacts with Sam, and no returns on record.
    assert_eq!(
        s.shown(json!({ "customer_ref": "sam", "limit": 3 }))
            .await
            .len(),
        2
    );
    let reply = s
        .app
        .post(
            "/v1/recommendations",
            Some(&other.token),
            json!({ "customer_ref": "sam", "anchor_product_ids": [phone], "moment": "checkout", "channel": "web" }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.body["suppressed"], "chronic_returner");
}

#[tokio::test]
async fn an_operator_chooses_the_merchant() {
    let s = shop().await;
    let body = json!({ "merchant_id": s.shop.id, "anchor_product_ids": [s.laptop], "moment": "checkout", "channel": "web" });
    let reply = s
        .app
        .post("/v1/recommendations", Some(&s.app.operator), body)
        .await
        .expect(StatusCode::OK);
    assert_eq!(products(&reply).len(), 2);
    s.app
        .post(
            "/v1/recommendations",
            Some(&s.app.operator),
            json!({ "anchor_product_ids": [s.laptop], "moment": "checkout", "channel": "web" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    s.app
        .post(
            "/v1/recommendations",
            Some(&s.app.operator),
            json!({ "merchant_id": uuid::Uuid::now_v7(), "anchor_product_ids": [s.laptop], "moment": "checkout", "channel": "web" }),
        )
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_support_conversation_gets_one_suggestion_at_most() {
    let s = shop().await;
    assert_eq!(s.shown(json!({ "limit": 3 })).await.len(), 2);
    let shown = s
        .shown(json!({ "limit": 3, "moment": "support_resolved" }))
        .await;
    assert_eq!(shown.len(), 1);
}

#[tokio::test]
async fn customer_profiles_are_created_replaced_and_read_back() {
    let s = shop().await;
    let path = "/v1/customers/cust-42";
    let created = s
        .app
        .put(
            path,
            Some(&s.shop.token),
            profile(json!({ "attributes": { "region": "EU", "age": 40 } })),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.body["version"], 1);
    assert_eq!(
        created.body["attributes"],
        json!({ "age": "40", "region": "EU" })
    );
    let replaced = s
        .app
        .put(
            path,
            Some(&s.shop.token),
            profile(json!({ "satisfaction": "at_risk", "return_rate": "0.1" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(replaced.body["version"], 2);
    let read = s
        .app
        .get(path, Some(&s.shop.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(read.body["satisfaction"], "at_risk");
    assert_eq!(read.body["return_rate"], "0.1");
    assert_eq!(read.body["consents"], json!(["email", "phone", "web"]));
    assert_eq!(read.body["service_cost"], "10.00");
    // What GET shows can be sent back changed: its read-only fields are accepted.
    let mut changed = read.body.clone();
    changed["satisfaction"] = json!("ok");
    let replaced = s
        .app
        .put(path, Some(&s.shop.token), changed.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (&replaced.body["satisfaction"], &replaced.body["version"]),
        (&json!("ok"), &json!(3))
    );
    changed["reference"] = json!("cust-43");
    let refused = s
        .app
        .put(path, Some(&s.shop.token), changed)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.body["errors"][0]["field"], "reference");
    s.app
        .get(path, Some(&s.app.operator))
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn bad_input_is_a_problem() {
    let s = shop().await;
    let token = Some(s.shop.token.as_str());
    // A cart cannot be priced in two currencies at once.
    let dollar_cable = s
        .app
        .post(
            "/v1/products",
            token,
            json!({ "sku": "CABLE-US", "title": "Cable", "category": "cables", "price": "9.00",
                    "unit_cost": "2.00", "currency": "USD" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id();
    for (body, status, code) in [
        (
            json!({ "moment": "lunch" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({ "channel": "fax" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({ "limit": 11 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "limit": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "anchor_product_ids": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "anchor_product_ids": [uuid::Uuid::now_v7()] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "customer_ref": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "customer_ref": "  " }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "anchor_product_ids": [s.laptop, dollar_cable] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ] {
        s.ask(body).await.expect_problem(status, code);
    }
    s.app
        .post("/v1/recommendations", None, json!({}))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "missing_token");

    for change in [
        json!({ "return_rate": "1.5" }),
        json!({ "currency": "euro" }),
        json!({ "revenue": "-1" }),
        json!({ "attributes": { "region": { "name": "EU" } } }),
    ] {
        s.app
            .put("/v1/customers/x", token, profile(change))
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    s.app
        .put(
            "/v1/customers/x",
            token,
            profile(json!({ "satisfaction": "angry" })),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    s.app
        .get("/v1/customers/nobody", token)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");

    let rules = format!("/v1/offers/{}/rules", s.offer);
    s.app
        .put(
            &rules,
            Some(&s.acme.token),
            json!({ "eligibility": ["region ~ EU"] }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Only the offering partner sets its rules.
    s.app
        .put(&rules, token, json!({ "eligibility": [] }))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_model_is_mined_from_stored_baskets() {
    let app = TestApp::new().await;
    let baskets: Vec<Vec<&str>> = vec![
        vec!["LAPTOP", "MOUSE"],
        vec!["LAPTOP", "MOUSE"],
        vec!["LAPTOP"],
        vec!["BREAD"],
    ];
    app.store.insert_baskets("test", &baskets).await.unwrap();
    let model = cosell_api::reco::rebuild_model(&app.store, MinSupport::Count(2))
        .await
        .unwrap();
    assert_eq!(model.basket_count(), 4);
    let (laptop, mouse) = (
        model.item_id("LAPTOP").unwrap(),
        model.item_id("MOUSE").unwrap(),
    );
    assert_eq!(model.pair(laptop, mouse).unwrap().count, 2);
    assert_eq!(model.frequent_pairs().len(), 1);
}

#[tokio::test]
async fn conversions_feed_the_model_and_their_neighbours_are_recommended_with_a_reason() {
    let s = shop().await;
    // A charger whose co-purchase key differs from its SKU; conversions name it by id.
    let charger = s
        .app
        .post(
            "/v1/products",
            Some(&s.shop.token),
            json!({ "sku": "CHG-1", "title": "Charger", "category": "power", "price": "50.00",
                "unit_cost": "20.00", "currency": "EUR", "attributes": { "item_key": "usb-c charger" } }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id();
    assert!(!s.shown(json!({})).await.contains(&charger));
    let laptop_and_charger = json!([
        { "sku": "LAPTOP", "quantity": 1, "unit_price": "1000.00" },
        { "product_id": charger, "quantity": 1, "unit_price": "50.00" },
    ]);
    let paper = json!([{ "sku": "PAPER", "quantity": 1, "unit_price": "5.00" }]);
    for (order, lines) in [
        ("o-1", &laptop_and_charger),
        ("o-2", &laptop_and_charger),
        ("o-3", &laptop_and_charger),
        ("o-4", &paper),
        ("o-5", &paper),
    ] {
        crate::sales::convert(
            &s.app,
            &s.shop,
            json!({ "order_id": order, "customer_ref": order, "occurred_at": crate::sales::minutes(-5),
                "currency": "EUR", "lines": lines }),
        )
        .await;
    }
    // What the server's background rebuild does.
    let model = cosell_api::reco::rebuild_model(&s.app.store, MinSupport::Count(2))
        .await
        .unwrap();
    assert_eq!(model.basket_count(), 5);
    s.app.state.model().store(model);
    let reply = s.ask(json!({})).await.expect(StatusCode::OK);
    // Laptop and charger in 3 of 5 baskets: support 60 %, lift 5·3 / (3·3) = 1.67.
    assert_eq!(
        item(&reply, &charger)["reasons"],
        json!([
            "bought together with Product LAPTOP in 60.0% of baskets, 1.7× more often than chance"
        ])
    );
}
