//! Settlement: from a click to a paid statement, reversals and clawbacks, re-runs and
//! concurrent runs, statements as CSV, isolation and metrics.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::sales::{
    convert, create_link, day, follow, merchant_and_referrer, metrics_around_today, minutes, nets,
    order, referred_sale, referred_sale_at, refund_one_item, refund_the_rest,
    refund_the_rest_sell_again_and_settle, settle, touch,
};
use crate::support::{TestApp, TestPartner};

#[tokio::test]
async fn click_to_paid_statement_to_the_cent() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let link = create_link(&app, &referrer, &merchant, "https://shop.test/", json!({})).await;
    let click_id = follow(&app, link.body["path"].as_str().unwrap(), "Mozilla/5.0").await;
    // 2 × 33.33 + 10.01 = 76.67; 10% is 7.667, rounded half to even: 7.67.
    let sale = convert(
        &app,
        &merchant,
        json!({ "order_id": "o-1", "customer_ref": "c-1", "click_id": click_id, "occurred_at": minutes(1), "currency": "EUR",
                "lines": [{ "sku": "A", "quantity": 2, "unit_price": "33.33" }, { "sku": "B", "quantity": 1, "unit_price": "10.01" }] }),
    )
    .await;
    assert_eq!(
        (
            sale["amount"].as_str(),
            sale["credits"][0]["commission"].as_str()
        ),
        (Some("76.67"), Some("7.67"))
    );

    // Still in its 14-day hold: nothing to settle yet.
    let early = settle(&app, 7).await;
    assert_eq!(early["statements"], json!([]));
    let run = settle(&app, 15).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "7.67".to_owned())]);
    assert_eq!(run["released"], 1);

    let mine = app
        .get("/v1/statements", Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    let statement = &mine.body["items"][0];
    assert_eq!(statement["lines"][0]["amount"], "7.67");
    assert_eq!(statement["lines"][0]["conversion_id"], sale["id"]);
    let csv = app
        .get("/v1/statements?format=csv", Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.body.as_str().unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines().nth(1).unwrap().contains(",commission,"),
        "{text}"
    );
    let accept = app
        .call(
            Method::GET,
            "/v1/statements",
            Some(&referrer.token),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(accept.body.as_str(), Some(text));

    // One statement answers CSV the same way; an unknown parameter or format is refused.
    let id = statement["id"].as_str().unwrap();
    let one = app
        .get(
            &format!("/v1/statements/{id}?format=csv"),
            Some(&referrer.token),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(one.body.as_str(), Some(text));
    app.get(
        &format!("/v1/statements/{id}?format=json"),
        Some(&referrer.token),
    )
    .await
    .expect(StatusCode::OK);
    for query in ["foo=1", "format=xml"] {
        app.get(
            &format!("/v1/statements/{id}?{query}"),
            Some(&referrer.token),
        )
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    }

    let paid_path = format!("/v1/statements/{id}/paid");
    app.post(
        &paid_path,
        Some(&referrer.token),
        json!({ "reference": "x" }),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    let paid = app
        .post(
            &paid_path,
            Some(&merchant.token),
            json!({ "reference": "bank-42" }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(paid.body["paid_reference"], "bank-42");
    app.post(
        &paid_path,
        Some(&merchant.token),
        json!({ "reference": "bank-43" }),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "already_paid");

    let metrics = metrics_around_today(&app, &referrer).await;
    assert_eq!(metrics[0]["attributed_revenue"], "76.67");
    assert_eq!(metrics[0]["commission"], "7.67");
    let merchant_side = metrics_around_today(&app, &merchant).await;
    // Every rate has the documented six places, "1" included.
    assert_eq!(merchant_side[0]["attach_rate"], "1.000000");
    // The latest `to` counts the sale; a later one is refused, not answered with nothing
    // (its next day, year 10000, sorts before today as text), and chrono's last date is a
    // refusal, not a panic on the day after it.
    let latest = app
        .get(
            "/v1/metrics?from=2000-01-01&to=9999-12-30",
            Some(&referrer.token),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(latest.body["items"][0]["attributed_revenue"], "76.67");
    // A date-time where a day is expected says what is expected.
    let timestamp = app
        .get(
            "/v1/metrics?from=2026-10-01T00:00:00Z&to=2026-12-01",
            Some(&referrer.token),
        )
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    let detail = timestamp.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("from") && detail.contains("expected a date such as 2026-10-31"),
        "{detail}"
    );
    for to in ["9999-12-31", "%2B10000-01-01", "%2B262142-12-31"] {
        let last = app
            .get(
                &format!("/v1/metrics?from=2000-01-01&to={to}"),
                Some(&referrer.token),
            )
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(last.fields(), ["to"]);
    }
}

#[tokio::test]
async fn a_refund_in_the_hold_reverses_and_after_settlement_claws_back() {
    let app = TestApp::new().await;
    let (merchant, referrer, kept) = referred_sale(&app).await;
    // Half refunded inside the hold: 10.00 commission, 5.00 reversed.
    refund_one_item(&app, &merchant, &kept).await;
    let first = settle(&app, 15).await;
    assert_eq!(nets(&first), vec![(referrer.id.clone(), "5.00".to_owned())]);

    // After settlement the rest is refunded: 5.00 clawed back, a negative line of the
    // next statement, next to a new 30.00 commission.
    let second = refund_the_rest_sell_again_and_settle(&app, &merchant, &kept).await;
    assert_eq!(
        nets(&second),
        vec![(referrer.id.clone(), "25.00".to_owned())]
    );
    let lines: Vec<(&str, &str)> = second["statements"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, vec![("commission", "30.00"), ("clawback", "-5.00")]);
    assert_eq!(second["statements"][0]["clawback"], "-5.00");
}

/// The payer writes the payment reference and the payee opens the CSV: a reference that
/// starts like a formula is text there, while a clawback stays a negative number.
#[tokio::test]
async fn a_payers_formula_reaches_the_payees_csv_as_text() {
    let app = TestApp::new().await;
    let (merchant, referrer, sale) = referred_sale(&app).await;
    let first = settle(&app, 15).await;
    let id = first["statements"][0]["id"].as_str().unwrap();
    let formula = "=HYPERLINK(\"http://evil.example\",\"x\")";
    app.post(
        &format!("/v1/statements/{id}/paid"),
        Some(&merchant.token),
        json!({ "reference": formula }),
    )
    .await
    .expect(StatusCode::OK);
    let one = app
        .get(
            &format!("/v1/statements/{id}?format=csv"),
            Some(&referrer.token),
        )
        .await
        .expect(StatusCode::OK);
    let row = one
        .body
        .as_str()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(
        row.ends_with(",10.00,10.00,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{row}"
    );

    let second = refund_the_rest_sell_again_and_settle(&app, &merchant, &sale).await;
    assert_eq!(second["statements"][0]["clawback"], "-10.00");
    let all = app
        .get("/v1/statements?format=csv", Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    let text = all.body.as_str().unwrap();
    assert!(text.contains(",clawback,"), "{text}");
    assert!(text.contains(",-10.00,20.00,\n"), "{text}");
    assert_eq!(text.matches("'=HYPERLINK").count(), 1, "{text}");
}

/// A re-attribution under unchanged terms must not change what a partly refunded sale
/// pays: the flat fee and the cap are reduced by the refund as the refund reduced them,
/// not charged again on the sale net of it.
#[tokio::test]
async fn reattributing_a_partly_refunded_sale_keeps_its_commission() {
    let app = TestApp::new().await;
    let merchant = app.partner("shop").await;
    let referrer = app.partner("blog").await;
    let terms = json!({ "commission_percent": "10", "commission_flat": "2.00", "cap_per_conversion": "8.00", "currency": "EUR", "hold_days": 14 });
    app.partnership_on(&merchant, &referrer, terms).await;
    touch(&app, &referrer, "t", "click", "cust", minutes(-10)).await;
    let sale = convert(
        &app,
        &merchant,
        order("o-1", "cust", minutes(-1), &[("A", 2, "50.00")]),
    )
    .await;
    // 10% of 100.00 plus 2.00 is 12.00, capped at 8.00.
    assert_eq!(sale["credits"][0]["commission"], "8.00");
    refund_one_item(&app, &merchant, &sale).await;
    // Half refunded: 4.00 reversed. Rated again on the 50.00 left it would be 7.00.
    let done = crate::sales::reattribute_last_hour(&app, &merchant, "last_touch").await;
    assert_eq!(done["reattributed"], 1);
    let run = settle(&app, 15).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "4.00".to_owned())]);

    // The rest refunded after settlement claws back exactly what was paid.
    let next = refund_the_rest_sell_again_and_settle(&app, &merchant, &sale).await;
    assert_eq!(nets(&next), vec![(referrer.id.clone(), "4.00".to_owned())]);
    assert_eq!(next["statements"][0]["clawback"], "-4.00");
}

#[tokio::test]
async fn rerunning_or_racing_a_settlement_writes_one_set() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let other = app.partner("news").await;
    app.partnership(&merchant, &other).await;
    touch(&app, &referrer, "a", "click", "c-1", minutes(-10)).await;
    touch(&app, &other, "b", "click", "c-2", minutes(-10)).await;
    convert(
        &app,
        &merchant,
        order("o-1", "c-1", minutes(-1), &[("A", 1, "40.00")]),
    )
    .await;
    convert(
        &app,
        &merchant,
        order("o-2", "c-2", minutes(-1), &[("A", 1, "60.00")]),
    )
    .await;
    app.days_pass(21);
    let body = json!({ "as_of": day(20) });
    let (a, b) = tokio::join!(
        app.post("/v1/settlements", Some(&app.operator), body.clone()),
        app.post("/v1/settlements", Some(&app.operator), body.clone()),
    );
    let (a, b) = (a.expect(StatusCode::OK), b.expect(StatusCode::OK));
    assert_eq!(
        a.body["created"].as_u64().unwrap() + b.body["created"].as_u64().unwrap(),
        2
    );
    let again = settle(&app, 20).await;
    assert_eq!(again["created"], 0);
    assert_eq!(again["released"], 0);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&again).len(), 2);
    assert_eq!(ids(&again), ids(&b.body));
    let all = app
        .get("/v1/statements", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let mut totals: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["net"].as_str().unwrap())
        .collect();
    totals.sort();
    assert_eq!(totals, vec!["4.00", "6.00"]);
    // A later period has nothing left to pay.
    assert_eq!(settle(&app, 40).await["statements"], json!([]));
}

/// A merchant and a referrer credited with one 40.00 sale (4.00 commission).
async fn one_sale(app: &TestApp) -> (TestPartner, TestPartner) {
    let (merchant, referrer) = merchant_and_referrer(app).await;
    touch(app, &referrer, "a", "click", "c", minutes(-10)).await;
    convert(
        app,
        &merchant,
        order("o-1", "c", minutes(-1), &[("A", 1, "40.00")]),
    )
    .await;
    (merchant, referrer)
}

#[tokio::test]
async fn minimum_payouts_carry_forward_and_statements_stay_private() {
    let app = TestApp::new().await;
    let (merchant, _) = one_sale(&app).await;
    app.days_pass(16);
    let small = app
        .post(
            "/v1/settlements",
            Some(&app.operator),
            json!({ "as_of": day(15), "minimum_payout": { "EUR": "5.00" } }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(small.body["statements"], json!([]));
    assert_eq!(small.body["carried_forward"][0]["reason"], "below_minimum");
    let run = settle(&app, 16).await;
    let id = run["statements"][0]["id"].as_str().unwrap();
    let outsider = app.partner("outsider").await;
    app.get(&format!("/v1/statements/{id}"), Some(&outsider.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let none = app
        .get("/v1/statements", Some(&outsider.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(none.body["items"], json!([]));
    app.post(
        &format!("/v1/statements/{id}/paid"),
        Some(&outsider.token),
        json!({ "reference": "r" }),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "not_found");
    app.post(
        "/v1/settlements",
        Some(&merchant.token),
        json!({ "as_of": day(1) }),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "forbidden");
}

/// Every statement line on record as `(accrual, period end, amount)`, sorted.
async fn statement_lines(app: &TestApp) -> Vec<(String, String, String)> {
    let all = app
        .get("/v1/statements", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    let mut lines: Vec<(String, String, String)> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["lines"].as_array().unwrap().iter().map(move |l| {
                (
                    l["accrual_id"].as_str().unwrap().to_owned(),
                    s["period_end"].as_str().unwrap().to_owned(),
                    l["amount"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    lines.sort();
    lines
}

/// Two runs with different period ends started at the same time, on their own threads:
/// whichever commits first, each commission is on exactly one statement. Repeated on
/// fresh databases, since which run wins (and whether they overlap) varies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_runs_of_different_periods_pay_each_commission_once() {
    for _ in 0..4 {
        race_two_periods().await;
    }
}

async fn race_two_periods() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    // A second referrer with an 18-day hold: payable by day 20, not by day 15.
    let slow = app.partner("slow").await;
    app.partnership_with_hold(&merchant, &slow, 18).await;
    touch(&app, &referrer, "a", "click", "c-1", minutes(-10)).await;
    touch(&app, &slow, "b", "click", "c-2", minutes(-10)).await;
    let fast_sale = convert(
        &app,
        &merchant,
        order("o-1", "c-1", minutes(-1), &[("A", 1, "40.01")]),
    )
    .await;
    let slow_sale = convert(
        &app,
        &merchant,
        order("o-2", "c-2", minutes(-1), &[("A", 1, "60.05")]),
    )
    .await;
    let accrual = |sale: &serde_json::Value| {
        sale["credits"][0]["accrual_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    app.days_pass(21);
    let early = app.spawn_post(
        "/v1/settlements",
        Some(&app.operator),
        json!({ "as_of": day(15) }),
    );
    let late = app.spawn_post(
        "/v1/settlements",
        Some(&app.operator),
        json!({ "as_of": day(20) }),
    );
    let (early, late) = (
        early.await.unwrap(),
        late.await.unwrap().expect(StatusCode::OK),
    );
    // 40.01 × 10% = 4.001 → 4.00; 60.05 × 10% = 6.005 → 6.00 (half to even).
    let (d15, d20) = (day(15).to_string(), day(20).to_string());
    let mut expected = if early.status == StatusCode::OK {
        // The day-15 run went first: it paid the fast commission, day 20 the slow one.
        assert_eq!(
            nets(&early.body),
            vec![(referrer.id.clone(), "4.00".to_owned())]
        );
        vec![
            (accrual(&fast_sale), d15, "4.00".to_owned()),
            (accrual(&slow_sale), d20, "6.00".to_owned()),
        ]
    } else {
        // The day-20 run went first and paid both; day 15 was closed by then.
        early.expect_problem(StatusCode::CONFLICT, "period_closed");
        vec![
            (accrual(&fast_sale), d20.clone(), "4.00".to_owned()),
            (accrual(&slow_sale), d20, "6.00".to_owned()),
        ]
    };
    expected.sort();
    assert_eq!(statement_lines(&app).await, expected);
    assert_eq!(late.body["period_end"], day(20).to_string());
    // Nothing is left to pay: a later run has no statement.
    assert_eq!(settle(&app, 40).await["statements"], json!([]));
    assert_eq!(statement_lines(&app).await, expected);
}

#[tokio::test]
async fn a_period_that_has_not_ended_is_refused_and_closes_nothing() {
    let app = TestApp::new().await;
    let (_, referrer) = one_sale(&app).await;
    // Today is day 16 by the API's clock: the sale's 14-day hold has passed.
    app.days_pass(16);
    for (days, when) in [(16, "today"), (17, "tomorrow"), (400, "next year")] {
        let refused = app
            .post(
                "/v1/settlements",
                Some(&app.operator),
                json!({ "as_of": day(days) }),
            )
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.fields(), vec!["as_of"], "{when}");
    }
    assert_eq!(statement_lines(&app).await, vec![]);
    // No period was closed by the refused runs: yesterday, the default, settles the sale.
    let run = app
        .post("/v1/settlements", Some(&app.operator), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(run.body["period_end"], day(15).to_string());
    assert_eq!(
        nets(&run.body),
        vec![(referrer.id.clone(), "4.00".to_owned())]
    );
}

#[tokio::test]
async fn an_earlier_period_after_a_later_one_is_refused() {
    let app = TestApp::new().await;
    let (_, referrer) = one_sale(&app).await;
    let run = settle(&app, 20).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "4.00".to_owned())]);
    let refused = app
        .post(
            "/v1/settlements",
            Some(&app.operator),
            json!({ "as_of": day(15) }),
        )
        .await
        .expect_problem(StatusCode::CONFLICT, "period_closed");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains(&day(20).to_string()),
        "{}",
        refused.body
    );
    // The same period again is a re-run: the same statement, nothing new.
    let again = settle(&app, 20).await;
    assert_eq!(again["created"], 0);
    assert_eq!(again["statements"], run["statements"]);
    assert_eq!(statement_lines(&app).await.len(), 1);
}

/// Statements as `(payee, commission, clawback, net, lines as (kind, amount))`, the
/// payee by its slug, in key order: comparable across databases.
async fn statements_by_payee(
    app: &TestApp,
    payees: &[(&str, &TestPartner)],
) -> Vec<(String, String, String, String, Vec<(String, String)>)> {
    let all = app
        .get("/v1/statements", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let payee = payees
                .iter()
                .find(|(_, p)| p.id == s["payee_id"].as_str().unwrap())
                .map(|(slug, _)| (*slug).to_owned())
                .unwrap();
            let lines = s["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (text(&l["kind"]), text(&l["amount"])))
                .collect();
            (
                payee,
                text(&s["commission"]),
                text(&s["clawback"]),
                text(&s["net"]),
                lines,
            )
        })
        .collect()
}

/// Two referrers, odd amounts, a refund inside the hold and one after the first run
/// (a clawback line next to commissions in the second), settled by the store in parts
/// of `part_lines` statement lines; what every statement says, and whether anything
/// was left to pay afterwards.
async fn settled_in_parts(
    part_lines: usize,
) -> (
    Vec<(String, String, String, String, Vec<(String, String)>)>,
    usize,
) {
    use cosell_core::settlement::SettlementPolicy;
    let app = TestApp::new().await;
    let (merchant, blog) = merchant_and_referrer(&app).await;
    let news = app.partner("news").await;
    app.partnership(&merchant, &news).await;
    let mut sales = Vec::new();
    for (n, price) in ["33.33", "10.01", "0.07", "99.99", "12.35", "7.77", "1.05"]
        .into_iter()
        .enumerate()
    {
        let referrer = if n % 3 == 0 { &news } else { &blog };
        let customer = format!("c-{n}");
        touch(
            &app,
            referrer,
            &format!("t-{n}"),
            "click",
            &customer,
            minutes(-10),
        )
        .await;
        let order_id = format!("o-{n}");
        let body = order(&order_id, &customer, minutes(-1), &[("A", 3, price)]);
        sales.push(
            convert(&app, &merchant, body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let refund = |id: &str, body: serde_json::Value| {
        let path = format!("/v1/conversions/{id}/refunds");
        let token = merchant.token.clone();
        let app = &app;
        async move {
            app.post(&path, Some(&token), body)
                .await
                .expect(StatusCode::CREATED);
        }
    };
    refund(
        &sales[1],
        json!({ "lines": [{ "line": 0, "quantity": 1 }] }),
    )
    .await;
    let store = app.store.clone().with_settlement_part_lines(part_lines);
    let policy = SettlementPolicy::default();
    store.settle_period(day(15), &policy).await.unwrap();
    refund(&sales[2], json!({})).await;
    refund(
        &sales[4],
        json!({ "lines": [{ "line": 0, "quantity": 2 }] }),
    )
    .await;
    for (order_id, customer) in [("late-blog", "c-1"), ("late-news", "c-3")] {
        let body = order(order_id, customer, minutes(0), &[("B", 1, "300.00")]);
        convert(&app, &merchant, body).await;
    }
    store.settle_period(day(16), &policy).await.unwrap();
    let statements = statements_by_payee(&app, &[("blog", &blog), ("news", &news)]).await;
    let left = store.settle_period(day(40), &policy).await.unwrap().created;
    (statements, left)
}

/// Writing a statement in parts (any part size) gives the rows of one pass, to the cent.
#[tokio::test]
async fn settling_in_parts_equals_one_pass() {
    let (whole, left) = settled_in_parts(10_000).await;
    assert_eq!(left, 0);
    assert_eq!(whole.len(), 4, "{whole:?}");
    assert!(
        whole
            .iter()
            .any(|s| s.4.iter().any(|(kind, _)| kind == "clawback")),
        "{whole:?}"
    );
    for part_lines in [1, 2, 3] {
        assert_eq!(settled_in_parts(part_lines).await, (whole.clone(), 0));
    }
}

/// A refund that lands while a run gathers: the run must not pay the commission as it
/// gathered it (it would pay 4.00 while the refund reversed 2.00 of it as unsettled, and
/// nothing would ever be clawed back). A refund of a sale the run does not pay lets it
/// write.
#[tokio::test]
async fn a_refund_while_a_run_gathers_makes_it_gather_again() {
    use cosell_core::settlement::SettlementPolicy;
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    touch(&app, &referrer, "a", "click", "c", minutes(-10)).await;
    let credited = order("o-1", "c", minutes(-1), &[("A", 2, "20.00")]);
    let credited = convert(&app, &merchant, credited).await;
    let uncredited = order("o-2", "stranger", minutes(-1), &[("B", 2, "20.00")]);
    let uncredited = convert(&app, &merchant, uncredited).await;
    let policy = SettlementPolicy::default();

    let gathered = app.store.gather_settlement(day(30), &policy).await.unwrap();
    refund_one_item(&app, &merchant, &credited).await;
    assert_eq!(app.store.write_settlement(&gathered).await.unwrap(), None);

    let gathered = app.store.gather_settlement(day(30), &policy).await.unwrap();
    refund_one_item(&app, &merchant, &uncredited).await;
    assert_eq!(
        app.store.write_settlement(&gathered).await.unwrap(),
        Some(1)
    );
    // What it paid is what the refund left: 2.00 of the 4.00.
    let run = settle(&app, 30).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "2.00".to_owned())]);
}

/// A re-attribution that lands while a run gathers withdraws the commission the run was
/// about to pay: the run gathers again and pays the new credit instead.
#[tokio::test]
async fn a_reattribution_while_a_run_gathers_makes_it_gather_again() {
    use cosell_core::settlement::SettlementPolicy;
    let app = TestApp::new().await;
    let (merchant, first, _) = crate::sales::two_referrers_touched(&app, "c").await;
    let sale = order("o-1", "c", minutes(-1), &[("A", 1, "90.00")]);
    convert(&app, &merchant, sale).await;
    let policy = SettlementPolicy::default();

    // Gathered under last touch: 9.00 for `second`.
    let gathered = app.store.gather_settlement(day(30), &policy).await.unwrap();
    crate::sales::reattribute_last_hour(&app, &merchant, "first_touch").await;
    assert_eq!(app.store.write_settlement(&gathered).await.unwrap(), None);
    let run = settle(&app, 30).await;
    assert_eq!(nets(&run), vec![(first.id.clone(), "9.00".to_owned())]);
}

fn days_ago(days: i64) -> chrono::DateTime<chrono::Utc> {
    minutes(-days * 24 * 60)
}

/// A sale of 100.00 nineteen days ago crediting the referrer's click
/// ([`referred_sale_at`]): its commission of 10.00, payable since five days ago, released
/// and carried forward below a minimum payout of 50.00 by a run three days ago.
async fn carried_commission() -> (TestApp, TestPartner, TestPartner, Value) {
    let app = TestApp::new().await;
    let (merchant, referrer, sale) = referred_sale_at(&app, days_ago(20), days_ago(19)).await;
    let small = app
        .post(
            "/v1/settlements",
            Some(&app.operator),
            json!({ "as_of": day(-3), "minimum_payout": { "EUR": "50.00" } }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(small.body["carried_forward"][0]["reason"], "below_minimum");
    (app, merchant, referrer, sale)
}

/// A refund recorded today, before the run that settles yesterday, reverses a payable
/// commission no run has paid (carried forward below the minimum): the run pays what it
/// left, 5.00 of 10.00, and the rest refunded after the run is clawed back. (The run
/// paid 10.00 as the ledger stood yesterday, the 5.00 reversed was never clawed back,
/// and the second refund reversed a payable balance gone negative: 10.00 kept on a
/// sale refunded in full.)
#[tokio::test]
async fn a_refund_dated_after_the_period_but_before_the_run_is_not_paid() {
    let (app, merchant, referrer, sale) = carried_commission().await;
    // Half of it refunded now, today; then yesterday is settled.
    refund_one_item(&app, &merchant, &sale).await;
    let run = settle(&app, -1).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "5.00".to_owned())]);

    refund_the_rest(&app, &merchant, &sale).await;
    let next = settle(&app, 0).await;
    assert_eq!(next["statements"], json!([]));
    assert_eq!(next["carried_forward"][0]["net"], "-5.00");
    assert_eq!(next["carried_forward"][0]["reason"], "negative_net");
}

/// A refund recorded today, before the run that settles yesterday, of a sale whose hold
/// ended five days ago but which no run has released yet: the run releases and pays what
/// the refund left, 5.00 of 10.00 (the run carries the items of the commissions it
/// releases from the release instead of summing them again), and the rest refunded
/// after the run is clawed back.
#[tokio::test]
async fn a_refund_today_of_a_commission_the_run_releases_pays_what_it_left() {
    let app = TestApp::new().await;
    let (merchant, referrer, sale) = referred_sale_at(&app, days_ago(20), days_ago(19)).await;
    refund_one_item(&app, &merchant, &sale).await;
    let run = settle(&app, -1).await;
    assert_eq!(run["released"], 1);
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "5.00".to_owned())]);

    refund_the_rest(&app, &merchant, &sale).await;
    let next = settle(&app, 0).await;
    assert_eq!(next["statements"], json!([]));
    assert_eq!(next["carried_forward"][0]["net"], "-5.00");
}

/// A re-attribution today withdraws a payable commission no run has paid (carried
/// forward below the minimum) and accrues its replacement: the run that settles
/// yesterday pays the 10.00 once, and the next run has nothing to do. (It paid both,
/// 20.00, and the withdrawn commission's payable balance, negative from then on, made
/// every later run fail with 409 `ledger` for every partner.)
#[tokio::test]
async fn a_reattribution_today_of_a_carried_commission_pays_it_once() {
    let (app, merchant, referrer, _sale) = carried_commission().await;
    let again = app
        .post(
            "/v1/conversions/reattribute",
            Some(&merchant.token),
            json!({ "from": minutes(-30 * 24 * 60), "to": minutes(1) }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(again.body["reattributed"], 1);
    let run = settle(&app, -1).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "10.00".to_owned())]);
    let next = settle(&app, 0).await;
    assert_eq!(
        (&next["statements"], &next["carried_forward"]),
        (&json!([]), &json!([]))
    );
}

/// Ending a partnership stops what the partner earns from then on: a re-attribution
/// afterwards rates the sales made before the end under it, even once the two partner
/// again on other terms. The merchant cannot take back the 10.00 the partner earned (and
/// was paid) by ending the partnership, partnering again at 1% and re-attributing the
/// period: with the active partnerships only, that clawed back 10.00 (or 9.00).
#[tokio::test]
async fn ending_a_partnership_then_reattributing_keeps_what_was_earned() {
    let app = TestApp::new().await;
    let merchant = app.partner("shop").await;
    let referrer = app.partner("blog").await;
    let deal = app.partnership(&merchant, &referrer).await;
    touch(&app, &referrer, "t", "click", "cust", minutes(-10)).await;
    let sale = order("o-1", "cust", minutes(-1), &[("A", 2, "50.00")]);
    convert(&app, &merchant, sale).await;
    let paid = settle(&app, 15).await;
    assert_eq!(nets(&paid), vec![(referrer.id.clone(), "10.00".to_owned())]);

    app.post(
        &format!("/v1/partnerships/{deal}/end"),
        Some(&merchant.token),
        json!({}),
    )
    .await
    .expect(StatusCode::OK);
    let done = crate::sales::reattribute_last_hour(&app, &merchant, "linear").await;
    assert_eq!(done["reattributed"], 1);
    let terms = json!({ "commission_percent": "1", "currency": "EUR", "hold_days": 14 });
    app.partnership_on(&merchant, &referrer, terms).await;
    crate::sales::reattribute_last_hour(&app, &merchant, "first_touch").await;
    // The paid commission is withdrawn and accrued again, twice: one 0.00 statement.
    let next = settle(&app, 16).await;
    assert_eq!(nets(&next), vec![(referrer.id.clone(), "0.00".to_owned())]);
    assert_eq!(next["carried_forward"], json!([]));
}

/// Refunds 50.00 of `sale` the first time the merchant's attribution plugin is asked: a
/// refund recorded while a re-attribution calls its plugins, after it read the refunds.
struct RefundWhileAsked {
    store: cosell_store::Store,
    merchant: cosell_core::PartnerId,
    sale: uuid::Uuid,
    done: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl cosell_store::hooks::Hooks for RefundWhileAsked {
    async fn attribute(
        &self,
        _: &cosell_core::plugin::PluginRef,
        _: cosell_store::hooks::AttributeInput<'_>,
    ) -> Result<cosell_store::hooks::PluginWeights, cosell_core::plugin::Fallback> {
        if !self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let now = chrono::Utc::now();
            let half = cosell_store::refunds::NewRefund {
                lines: Some(vec![(0, 1)]),
                occurred_at: now,
            };
            let tenant = cosell_store::Tenant::Partner(self.merchant);
            self.store
                .refund_conversion(tenant, self.sale, half, now)
                .await
                .unwrap();
        }
        Err(not_loaded())
    }

    async fn commission(
        &self,
        _: &cosell_core::plugin::PluginRef,
        _: cosell_store::hooks::CommissionInput<'_>,
    ) -> Result<cosell_store::hooks::PluginCommission, cosell_core::plugin::Fallback> {
        Err(not_loaded())
    }
}

fn not_loaded() -> cosell_core::plugin::Fallback {
    use cosell_core::plugin::{Fallback, FallbackCode};
    Fallback::new(FallbackCode::NotLoaded, "a test hook")
}

/// A refund recorded while a re-attribution asks its plugins reversed the old commission
/// only: the re-attribution must not replace it with a new one that ignores the refund
/// (10.00 paid on a sale refunded by half). It is refused, to be retried, and the refund
/// stands.
#[tokio::test]
async fn a_refund_while_a_reattribution_asks_its_plugins_is_not_lost() {
    use cosell_core::attribution::BuiltinModel;
    use cosell_core::plugin::PluginRef;
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    touch(&app, &referrer, "t", "click", "cust", minutes(-10)).await;
    let sale = order("o-1", "cust", minutes(-1), &[("A", 2, "50.00")]);
    let sale = convert(&app, &merchant, sale).await;
    let merchant_id = cosell_core::PartnerId(merchant.id.parse().unwrap());
    let plugin = PluginRef::parse("plugin_id", &"ab".repeat(32)).unwrap();
    app.store
        .set_default_model(merchant_id, BuiltinModel::LastTouch, Some(plugin))
        .await
        .unwrap();
    let hooks = RefundWhileAsked {
        store: app.store.clone(),
        merchant: merchant_id,
        sale: sale["id"].as_str().unwrap().parse().unwrap(),
        done: false.into(),
    };
    let hooked = app.store.clone().with_hooks(std::sync::Arc::new(hooks));
    let period = cosell_core::metrics::Period {
        start: minutes(-60),
        end: minutes(1),
    };
    let refused = hooked
        .reattribute(merchant_id, period, chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("refunded while it was re-attributed"),
        "{refused}"
    );
    let run = settle(&app, 15).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "5.00".to_owned())]);
}
