//! Conversions: idempotent recording, refunds, refusals, self-referral and isolation.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::sales::{
    convert, exclusions, merchant_and_referrer, minutes, order, tiered_merchant_touched, touch,
};
use crate::support::{TestApp, TestPartner};

#[tokio::test]
async fn the_same_order_replays_and_a_different_body_conflicts() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    touch(&app, &referrer, "t", "click", "cust", minutes(-10)).await;
    let at = minutes(-1);
    let body = order("o-1", "cust", at, &[("A", 2, "10.00")]);
    let first = convert(&app, &merchant, body.clone()).await;
    let again = app
        .post("/v1/conversions", Some(&merchant.token), body)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first);
    // 10.0 is the same price as 10.00: still a replay.
    app.post(
        "/v1/conversions",
        Some(&merchant.token),
        order("o-1", "cust", at, &[("A", 2, "10.0")]),
    )
    .await
    .expect(StatusCode::CREATED);
    app.post(
        "/v1/conversions",
        Some(&merchant.token),
        order("o-1", "cust", at, &[("A", 3, "10.00")]),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "order_conflict");
    assert_eq!(first["amount"], "20.00");
    assert_eq!(first["credits"][0]["commission"], "2.00");
}

#[tokio::test]
async fn bad_and_future_conversions_are_refused() {
    let app = TestApp::new().await;
    let (merchant, _) = merchant_and_referrer(&app).await;
    let future = app
        .post(
            "/v1/conversions",
            Some(&merchant.token),
            order("o-f", "cust", minutes(10), &[("A", 1, "1.00")]),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(future.body["errors"][0]["field"], "occurred_at");
    let bad = app
        .post(
            "/v1/conversions",
            Some(&merchant.token),
            order("", "cust", minutes(0), &[("A", 0, "1.001")]),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    // Every bad field, not the first of each line: the quantity and the price.
    assert_eq!(
        fields,
        vec!["order_id", "lines[0].quantity", "lines[0].unit_price"]
    );
    // The customer reference follows the rule a profile's and a touchpoint's follow.
    let controlled = app
        .post(
            "/v1/conversions",
            Some(&merchant.token),
            order("o-c", "cust\u{0}", minutes(0), &[("A", 1, "1.00")]),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(controlled.body["errors"][0]["field"], "customer_ref");
    app.post(
        "/v1/conversions",
        Some(&app.operator),
        order("o", "c", minutes(0), &[("A", 1, "1.00")]),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "forbidden");
}

/// A day, or a time without its offset, where an instant belongs is refused saying what is
/// expected, naming the field: chrono's own message was a bare "premature end of input".
#[tokio::test]
async fn an_instant_without_its_offset_says_what_is_expected() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let mut sale = order("o-d", "cust", minutes(0), &[("A", 1, "1.00")]);
    let mut refusals = Vec::new();
    for at in ["2026-10-31", "2026-10-31T09:30:00"] {
        sale["occurred_at"] = json!(at);
        refusals.push((
            "occurred_at",
            at,
            app.post("/v1/conversions", Some(&merchant.token), sale.clone())
                .await,
        ));
    }
    let event = json!({ "events": [{ "event_id": "e", "kind": "click", "customer_ref": "c", "occurred_at": "2026-10-31" }] });
    refusals.push((
        "events[0].occurred_at",
        "2026-10-31",
        app.post("/v1/touchpoints", Some(&referrer.token), event)
            .await,
    ));
    let period = json!({ "from": "2026-10-01", "to": "2026-11-01T00:00:00Z" });
    refusals.push((
        "from",
        "2026-10-01",
        app.post("/v1/conversions/reattribute", Some(&merchant.token), period)
            .await,
    ));
    for (field, at, reply) in refusals {
        let reply = reply.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("{field}: expected a date and time with its offset, such as 2026-10-31T09:30:00Z, not `{at}`")),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn a_partner_buying_or_referring_itself_earns_nothing() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    // The referrer's own customer reference is its slug ("blog") or id.
    touch(&app, &referrer, "own", "click", "blog", minutes(-10)).await;
    let sale = convert(
        &app,
        &merchant,
        order("o-self", "blog", minutes(0), &[("A", 1, "50.00")]),
    )
    .await;
    assert_eq!(sale["credits"], json!([]));
    assert_eq!(
        exclusions(&app, &merchant, &sale).await,
        vec!["self_referral"]
    );
}

/// A referrer's click, then a sale of 2 × A at 10.00 and 1 × B at 5.00 by the same
/// customer: 25.00, all credited to the referrer. Returns the app, merchant, referrer, sale.
async fn two_line_sale() -> (TestApp, TestPartner, TestPartner, Value) {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    touch(&app, &referrer, "t", "click", "cust", minutes(-10)).await;
    let sale = convert(
        &app,
        &merchant,
        order(
            "o",
            "cust",
            minutes(-1),
            &[("A", 2, "10.00"), ("B", 1, "5.00")],
        ),
    )
    .await;
    (app, merchant, referrer, sale)
}

#[tokio::test]
async fn refunds_never_exceed_what_was_sold() {
    let (app, merchant, _referrer, sale) = two_line_sale().await;
    let path = format!("/v1/conversions/{}/refunds", sale["id"].as_str().unwrap());
    let one = app
        .post(
            &path,
            Some(&merchant.token),
            json!({ "lines": [{ "line": 0, "quantity": 1 }] }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (
            one.body["amount"].as_str(),
            one.body["refunded_total"].as_str()
        ),
        (Some("10.00"), Some("10.00"))
    );
    app.post(
        &path,
        Some(&merchant.token),
        json!({ "lines": [{ "line": 0, "quantity": 2 }] }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.post(
        &path,
        Some(&merchant.token),
        json!({ "lines": [{ "line": 7, "quantity": 1 }] }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let rest = app
        .post(&path, Some(&merchant.token), json!({}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(rest.body["amount"], "15.00");
    app.post(&path, Some(&merchant.token), json!({}))
        .await
        .expect_problem(StatusCode::CONFLICT, "nothing_to_refund");
    let now = app
        .get(
            &format!("/v1/conversions/{}", sale["id"].as_str().unwrap()),
            Some(&merchant.token),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(now.body["refunded"], "25.00");
}

/// A line given away (unit price 0) has no money to refund: naming only such lines is a
/// 422 on `lines`, not a 409 saying that everything was refunded (it was not: the other
/// line is refunded in full afterwards).
#[tokio::test]
async fn refunding_only_a_free_line_says_so() {
    let app = TestApp::new().await;
    let merchant = app.partner("shop").await;
    let body = json!({ "order_id": "o-1", "customer_ref": "c", "occurred_at": minutes(-1), "currency": "EUR",
        "lines": [{ "sku": "A", "quantity": 1, "unit_price": "25.00" }, { "sku": "GIFT", "quantity": 1, "unit_price": "0.00" }] });
    let sale = app
        .post("/v1/conversions", Some(&merchant.token), body)
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/v1/conversions/{}/refunds", sale.id());
    let free = app
        .post(
            &path,
            Some(&merchant.token),
            json!({ "lines": [{ "line": 1, "quantity": 1 }] }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(free.fields(), ["lines"]);
    let rest = app
        .post(&path, Some(&merchant.token), json!({}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(rest.body["amount"], "25.00");
}

#[tokio::test]
async fn other_tenants_cannot_reach_a_conversion() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let sale = convert(
        &app,
        &merchant,
        order("o", "cust", minutes(0), &[("A", 1, "5.00")]),
    )
    .await;
    let id = sale["id"].as_str().unwrap();
    let outsider = app.partner("outsider").await;
    for who in [&outsider, &referrer] {
        app.get(&format!("/v1/conversions/{id}"), Some(&who.token))
            .await
            .expect_problem(StatusCode::NOT_FOUND, "not_found");
        app.get(
            &format!("/v1/conversions/{id}/attribution"),
            Some(&who.token),
        )
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
        app.post(
            &format!("/v1/conversions/{id}/refunds"),
            Some(&who.token),
            json!({}),
        )
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    }
    app.get(&format!("/v1/conversions/{id}"), Some(&app.operator))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn reattribution_keeps_the_old_result_and_moves_the_commission() {
    let app = TestApp::new().await;
    let (merchant, first, second) = crate::sales::two_referrers_touched(&app, "cust").await;
    let sale = convert(
        &app,
        &merchant,
        order("o", "cust", minutes(-1), &[("A", 1, "90.00")]),
    )
    .await;
    assert_eq!(sale["model"], "last_touch");
    assert_eq!(sale["credits"][0]["partner_id"], second.id.as_str());
    let done = crate::sales::reattribute_last_hour(&app, &merchant, "first_touch").await;
    assert_eq!(done["reattributed"], 1);
    let id = sale["id"].as_str().unwrap();
    let now = app
        .get(&format!("/v1/conversions/{id}"), Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(now.body["model"], "first_touch");
    assert_eq!(now.body["credits"][0]["partner_id"], first.id.as_str());
    assert_eq!(now.body["credits"][0]["commission"], "9.00");
    let history = app
        .get(
            &format!("/v1/conversions/{id}/attribution"),
            Some(&merchant.token),
        )
        .await
        .expect(StatusCode::OK);
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["superseded_by"], items[0]["id"]);
    assert_eq!(items[1]["model"], "last_touch");
}

/// Tiers count the partner's revenue of the month; re-attribution must not count the
/// results it replaces on top of their replacements.
#[tokio::test]
async fn reattribution_rates_tiers_without_the_results_it_supersedes() {
    let app = TestApp::new().await;
    let merchant = tiered_merchant_touched(&app).await;
    let mut sales = Vec::new();
    for (n, at, price) in [(1, -10, "70.00"), (2, -3, "20.00"), (3, -2, "20.00")] {
        let body = order(&format!("o-{n}"), "cust", minutes(at), &[("A", 1, price)]);
        sales.push(convert(&app, &merchant, body).await);
    }
    let commissions = |sales: &[serde_json::Value]| -> Vec<String> {
        sales
            .iter()
            .map(|s| s["credits"][0]["commission"].as_str().unwrap().to_owned())
            .collect()
    };
    // Revenue 70 → 7.00; 90 → 2.00 at 10%; 110 reaches the tier → 4.00 at 20%.
    assert_eq!(commissions(&sales), vec!["7.00", "2.00", "4.00"]);

    // Re-attribute the last two only: they are rated against the first (70.00) plus
    // themselves as they come, not against their own old results as well (which would
    // start at 110.00 and pay 20% on both).
    app.post(
        "/v1/conversions/reattribute",
        Some(&merchant.token),
        json!({ "from": minutes(-5), "to": minutes(1) }),
    )
    .await
    .expect(StatusCode::OK);
    let mut now = Vec::new();
    for s in &sales {
        let path = format!("/v1/conversions/{}", s["id"].as_str().unwrap());
        now.push(
            app.get(&path, Some(&merchant.token))
                .await
                .expect(StatusCode::OK)
                .body,
        );
    }
    assert_eq!(commissions(&now), vec!["7.00", "2.00", "4.00"]);
    assert_ne!(
        now[1]["credits"][0]["accrual_id"],
        sales[1]["credits"][0]["accrual_id"]
    );
}

#[tokio::test]
async fn amounts_beyond_the_bound_are_refused_so_sums_cannot_wrap() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    touch(&app, &referrer, "t", "click", "cust", minutes(-10)).await;
    // Two of these once summed past i64 and showed a negative attributed revenue.
    for (price, quantity, field) in [
        ("90000000000000000.00", 1, "lines[0].unit_price"),
        ("1000000000000.01", 1, "lines[0].unit_price"),
        ("1000000000000.00", 2, "lines[0].quantity"),
    ] {
        let refused = app
            .post(
                "/v1/conversions",
                Some(&merchant.token),
                order("o-huge", "cust", minutes(-1), &[("A", quantity, price)]),
            )
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.fields(), vec![field], "{}", refused.body);
        assert!(
            refused.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("at most 1000000000000 EUR"),
            "{}",
            refused.body
        );
    }
    // Two lines within the bound whose total is not.
    let total = app
        .post(
            "/v1/conversions",
            Some(&merchant.token),
            order(
                "o-huge",
                "cust",
                minutes(-1),
                &[("A", 1, "600000000000.00"), ("B", 1, "600000000000.00")],
            ),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(total.fields(), vec!["lines"]);
    // Nothing was stored: the order id is still free, and the largest amount is taken.
    for order_id in ["o-1", "o-2"] {
        convert(
            &app,
            &merchant,
            order(
                order_id,
                "cust",
                minutes(-1),
                &[("A", 1, "1000000000000.00")],
            ),
        )
        .await;
    }
    convert(
        &app,
        &merchant,
        order("o-huge", "cust", minutes(-1), &[("A", 1, "1.00")]),
    )
    .await;
    let items = crate::sales::metrics_around_today(&app, &referrer).await;
    assert_eq!(items[0]["attributed_revenue"], "2000000000001.00");
    assert_eq!(items[0]["commission"], "200000000000.10");
}

#[tokio::test]
async fn a_price_finer_than_the_currency_says_so() {
    let app = TestApp::new().await;
    let (merchant, _) = merchant_and_referrer(&app).await;
    let refused = app
        .post(
            "/v1/conversions",
            Some(&merchant.token),
            order("o", "cust", minutes(0), &[("A", 1, "1.001")]),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.fields(), vec!["lines[0].unit_price"]);
    let message = refused.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("more than 2 decimal places"), "{message}");
}

#[tokio::test]
async fn a_refund_naming_a_line_twice_or_no_line_is_refused_and_stores_nothing() {
    let app = TestApp::new().await;
    let (merchant, _) = merchant_and_referrer(&app).await;
    let sale = convert(
        &app,
        &merchant,
        order("o", "cust", minutes(-1), &[("A", 2, "10.00")]),
    )
    .await;
    let id = sale["id"].as_str().unwrap();
    let path = format!("/v1/conversions/{id}/refunds");
    let twice = app
        .post(
            &path,
            Some(&merchant.token),
            json!({ "lines": [{ "line": 0, "quantity": 1 }, { "line": 0, "quantity": 1 }] }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(twice.fields(), vec!["lines[1].line"], "{}", twice.body);
    let none = app
        .post(&path, Some(&merchant.token), json!({ "lines": [] }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(none.fields(), vec!["lines"]);
    assert!(
        none.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("leave `lines` out to refund everything"),
        "{}",
        none.body
    );
    let after = app
        .get(&format!("/v1/conversions/{id}"), Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(after.body["refunded"], "0.00");
    // Both units can still be refunded, once.
    let whole = app
        .post(
            &path,
            Some(&merchant.token),
            json!({ "lines": [{ "line": 0, "quantity": 2 }] }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(whole.body["amount"], "20.00");
}

/// As docs/attribution.md ("Metrics") says: `attributed_revenue` and `commission` are gross
/// of refunds (the commission as accrued on the whole sale, though the refund reversed part
/// of it in the ledger); refunds show only as `refund_rate`.
#[tokio::test]
async fn metrics_are_gross_of_refunds_which_show_as_the_refund_rate() {
    let (app, merchant, referrer, sale) = two_line_sale().await;
    assert_eq!(sale["credits"][0]["commission"], "2.50");
    let path = format!("/v1/conversions/{}/refunds", sale["id"].as_str().unwrap());
    app.post(
        &path,
        Some(&merchant.token),
        json!({ "lines": [{ "line": 0, "quantity": 1 }] }),
    )
    .await
    .expect(StatusCode::CREATED);
    let items = crate::sales::metrics_around_today(&app, &referrer).await;
    let row = &items[0];
    assert_eq!(row["attributed_revenue"], "25.00");
    assert_eq!(row["commission"], "2.50");
    assert_eq!(row["refund_rate"], "0.400000");
    assert_eq!(row["revenue_per_customer"], "25.00");
}
