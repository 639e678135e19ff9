//! Shared steps of the tracking, conversion and settlement tests: a merchant paying a
//! referrer, touchpoints, conversions and settlement runs through the API.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, TestPartner};

/// A merchant and a referrer it pays 10% (EUR, 30-day window, 14-day hold).
pub async fn merchant_and_referrer(app: &TestApp) -> (TestPartner, TestPartner) {
    let merchant = app.partner("shop").await;
    let referrer = app.partner("blog").await;
    app.partnership(&merchant, &referrer).await;
    (merchant, referrer)
}

/// A merchant paying a referrer 10%, and 20% once the month's attributed revenue reaches
/// 100.00, with the referrer's click for customer `cust` 20 minutes ago.
pub async fn tiered_merchant_touched(app: &TestApp) -> TestPartner {
    let merchant = app.partner("shop").await;
    let referrer = app.partner("blog").await;
    let terms = json!({ "commission_percent": "10", "currency": "EUR", "tiers": [{ "from": "100.00", "percent": "20" }] });
    app.partnership_on(&merchant, &referrer, terms).await;
    touch(app, &referrer, "t", "click", "cust", minutes(-20)).await;
    merchant
}

/// A merchant and two referrers it pays 10% (`blog`, then `news`), each with a click for
/// `customer`: `blog` 30 minutes ago, `news` 20 minutes ago.
pub async fn two_referrers_touched(
    app: &TestApp,
    customer: &str,
) -> (TestPartner, TestPartner, TestPartner) {
    let (merchant, first) = merchant_and_referrer(app).await;
    let second = app.partner("news").await;
    app.partnership(&merchant, &second).await;
    touch(app, &first, "first", "click", customer, minutes(-30)).await;
    touch(app, &second, "second", "click", customer, minutes(-20)).await;
    (merchant, first, second)
}

/// `referrer`'s new tracking link to `merchant`'s `destination`, with `extra` fields
/// (`label`, `offer_id`) merged into the request.
pub async fn create_link(
    app: &TestApp,
    referrer: &TestPartner,
    merchant: &TestPartner,
    destination: &str,
    extra: Value,
) -> Reply {
    let mut body = json!({ "merchant_id": merchant.id, "destination": destination });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.post("/v1/tracking-links", Some(&referrer.token), body)
        .await
        .expect(StatusCode::CREATED)
}

/// Follows a tracking link as a browser with `user_agent`; returns the click id.
pub async fn follow(app: &TestApp, path: &str, user_agent: &str) -> String {
    let reply = app
        .call(Method::GET, path, None, None, &[("user-agent", user_agent)])
        .await
        .expect(StatusCode::FOUND);
    let location = reply.headers["location"].to_str().unwrap();
    location
        .rsplit_once("cosell_click_id=")
        .unwrap()
        .1
        .to_owned()
}

/// Why each touchpoint of a conversion earned nothing, from its current attribution.
pub async fn exclusions(app: &TestApp, merchant: &TestPartner, sale: &Value) -> Vec<String> {
    let path = format!(
        "/v1/conversions/{}/attribution",
        sale["id"].as_str().unwrap()
    );
    let why = app
        .get(&path, Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    why.body["items"][0]["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect()
}

/// Reports one touchpoint of `partner` for `customer`.
pub async fn touch(
    app: &TestApp,
    partner: &TestPartner,
    event: &str,
    kind: &str,
    customer: &str,
    at: DateTime<Utc>,
) {
    let reply = app
        .post(
            "/v1/touchpoints",
            Some(&partner.token),
            json!({ "events": [{ "event_id": event, "kind": kind, "customer_ref": customer, "occurred_at": at }] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
}

/// A conversion body: one line per `(sku, quantity, unit price)`.
pub fn order(
    order_id: &str,
    customer: &str,
    at: DateTime<Utc>,
    lines: &[(&str, i64, &str)],
) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity, price)| json!({ "sku": sku, "quantity": quantity, "unit_price": price }))
        .collect();
    json!({ "order_id": order_id, "customer_ref": customer, "occurred_at": at, "currency": "EUR", "lines": lines })
}

/// Records a conversion as `merchant`; returns its body.
pub async fn convert(app: &TestApp, merchant: &TestPartner, body: Value) -> Value {
    app.post("/v1/conversions", Some(&merchant.token), body)
        .await
        .expect(StatusCode::CREATED)
        .body
}

/// Sets `merchant`'s default attribution model.
pub async fn set_model(app: &TestApp, merchant: &TestPartner, model: &str) {
    app.call(
        Method::PUT,
        "/v1/attribution/default-model",
        Some(&merchant.token),
        Some(json!({ "model": model })),
        &[],
    )
    .await
    .expect(StatusCode::OK);
}

/// `merchant` switches its default model to `model` and re-attributes the last hour's
/// conversions; returns the answer (`reattributed`: how many).
pub async fn reattribute_last_hour(app: &TestApp, merchant: &TestPartner, model: &str) -> Value {
    set_model(app, merchant, model).await;
    app.post(
        "/v1/conversions/reattribute",
        Some(&merchant.token),
        json!({ "from": minutes(-60), "to": minutes(1) }),
    )
    .await
    .expect(StatusCode::OK)
    .body
}

/// A settlement run as of `days` from today, once that day has passed.
pub async fn settle(app: &TestApp, days: i64) -> Value {
    app.days_pass(days + 1);
    app.post(
        "/v1/settlements",
        Some(&app.operator),
        json!({ "as_of": day(days) }),
    )
    .await
    .expect(StatusCode::OK)
    .body
}

/// `caller`'s partner metrics from yesterday to tomorrow: the items of `GET /v1/metrics`.
pub async fn metrics_around_today(app: &TestApp, caller: &TestPartner) -> Value {
    let path = format!("/v1/metrics?from={}&to={}", day(-1), day(1));
    let reply = app.get(&path, Some(&caller.token)).await;
    reply.expect(StatusCode::OK).body["items"].clone()
}

pub fn day(days: i64) -> NaiveDate {
    (Utc::now() + Duration::days(days)).date_naive()
}

/// An instant `minutes` from now (negative: in the past).
pub fn minutes(minutes: i64) -> DateTime<Utc> {
    Utc::now() + Duration::minutes(minutes)
}

/// Statement nets as `(payee, net)` strings, in key order.
pub fn nets(run: &Value) -> Vec<(String, String)> {
    run["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["payee_id"].as_str().unwrap().to_owned(),
                s["net"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A merchant, the referrer it pays 10% with a click for `cust` ten minutes ago, and the
/// 100.00 sale (2 × 50.00, 10.00 commission) to `cust` a minute ago.
pub async fn referred_sale(app: &TestApp) -> (TestPartner, TestPartner, Value) {
    referred_sale_at(app, minutes(-10), minutes(-1)).await
}

/// [`referred_sale`] with the click at `clicked` and the sale at `sold`.
pub async fn referred_sale_at(
    app: &TestApp,
    clicked: DateTime<Utc>,
    sold: DateTime<Utc>,
) -> (TestPartner, TestPartner, Value) {
    let (merchant, referrer) = merchant_and_referrer(app).await;
    touch(app, &referrer, "t", "click", "cust", clicked).await;
    let sale = convert(
        app,
        &merchant,
        order("o-1", "cust", sold, &[("A", 2, "50.00")]),
    )
    .await;
    (merchant, referrer, sale)
}

/// `merchant` refunds one of `sale`'s items (line 0, quantity 1).
pub async fn refund_one_item(app: &TestApp, merchant: &TestPartner, sale: &Value) {
    refund(
        app,
        merchant,
        sale,
        json!({ "lines": [{ "line": 0, "quantity": 1 }] }),
    )
    .await;
}

/// `merchant` refunds what is left of `sale`.
pub async fn refund_the_rest(app: &TestApp, merchant: &TestPartner, sale: &Value) {
    refund(app, merchant, sale, json!({})).await;
}

async fn refund(app: &TestApp, merchant: &TestPartner, sale: &Value, body: Value) {
    app.post(
        &format!("/v1/conversions/{}/refunds", sale["id"].as_str().unwrap()),
        Some(&merchant.token),
        body,
    )
    .await
    .expect(StatusCode::CREATED);
}

/// After the first run (day 15): the rest of `sale` refunded, a new 300.00 sale to the
/// same customer, and the run of day 16.
pub async fn refund_the_rest_sell_again_and_settle(
    app: &TestApp,
    merchant: &TestPartner,
    sale: &Value,
) -> Value {
    refund_the_rest(app, merchant, sale).await;
    convert(
        app,
        merchant,
        order("o-2", "cust", minutes(0), &[("B", 1, "300.00")]),
    )
    .await;
    settle(app, 16).await
}
