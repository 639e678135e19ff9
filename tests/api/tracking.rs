//! Tracking links, the click redirect and the touchpoints API.

use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;

use crate::sales::{
    convert, create_link, exclusions, follow, merchant_and_referrer, minutes, order, touch,
};
use crate::support::TestApp;

#[tokio::test]
async fn a_click_redirects_with_its_id_and_unknown_codes_record_nothing() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let destination = "https://shop.test/p?ref=1";
    let link = create_link(&app, &referrer, &merchant, destination, json!({})).await;
    let path = link.body["path"].as_str().unwrap().to_owned();
    let reply = app
        .call(
            Method::GET,
            &path,
            None,
            None,
            &[
                ("user-agent", "Mozilla/5.0"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
        )
        .await
        .expect(StatusCode::FOUND);
    let location = reply.headers["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://shop.test/p?ref=1&cosell_click_id="),
        "{location}"
    );
    let click_id = location.rsplit('=').next().unwrap().to_owned();

    // The click credits the referrer through the click id alone.
    let sale = convert(
        &app,
        &merchant,
        json!({ "order_id": "o-1", "customer_ref": "anyone", "click_id": click_id, "occurred_at": minutes(1),
                "currency": "EUR", "lines": [{ "sku": "A", "quantity": 1, "unit_price": "20.00" }] }),
    )
    .await;
    assert_eq!(sale["credits"][0]["partner_id"], referrer.id.as_str());
    assert_eq!(sale["credits"][0]["commission"], "2.00");

    app.get("/r/nope", None)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    // A bot's click is recorded and redirected, but never credited.
    let bot_click = follow(&app, &path, "Googlebot/2.1").await;
    let sale = convert(
        &app,
        &merchant,
        json!({ "order_id": "o-2", "customer_ref": "other", "click_id": bot_click, "occurred_at": minutes(1),
                "currency": "EUR", "lines": [{ "sku": "A", "quantity": 1, "unit_price": "20.00" }] }),
    )
    .await;
    assert_eq!(sale["credits"], json!([]));
    assert_eq!(exclusions(&app, &merchant, &sale).await, vec!["bot"]);

    // Archived links stop redirecting; other partners do not see the link.
    let id = link.id();
    let outsider = app.partner("else").await;
    app.get(&format!("/v1/tracking-links/{id}"), Some(&outsider.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    app.delete(&format!("/v1/tracking-links/{id}"), Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    app.get(&path, None)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let mine = app
        .get("/v1/tracking-links", Some(&referrer.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn links_need_a_partnership_and_a_web_destination() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let stranger = app.partner("far").await;
    app.post(
        "/v1/tracking-links",
        Some(&stranger.token),
        json!({ "merchant_id": merchant.id, "destination": "https://shop.test/" }),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "no_active_partnership");
    // The merchant invited the referrer, so it pays the referrer, never the other way
    // round: a link from the merchant toward the referrer would earn nothing.
    app.post(
        "/v1/tracking-links",
        Some(&merchant.token),
        json!({ "merchant_id": referrer.id, "destination": "https://blog.test/" }),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "no_active_partnership");
    let links = app
        .get("/v1/tracking-links", Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(links.body["items"], json!([]));
    app.post(
        "/v1/tracking-links",
        Some(&referrer.token),
        json!({ "merchant_id": merchant.id, "destination": "javascript:alert(1)" }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn touchpoint_batches_report_duplicates_and_refuse_bad_events() {
    let app = TestApp::new().await;
    let (_merchant, referrer) = merchant_and_referrer(&app).await;
    touch(&app, &referrer, "e-1", "click", "cust", minutes(-5)).await;
    let events = json!([
        { "event_id": "e-1", "kind": "click", "customer_ref": "cust", "occurred_at": minutes(-5) },
        { "event_id": "e-2", "kind": "impression", "customer_ref": "cust", "occurred_at": minutes(-4) },
        { "event_id": "e-3", "kind": "click", "customer_ref": "cust", "occurred_at": minutes(10) },
        { "event_id": "e-4", "kind": "referral", "customer_ref": "blog", "occurred_at": minutes(-1) },
    ]);
    // All or nothing by default: the future event and the self-referral are named.
    let refused = app
        .post(
            "/v1/touchpoints",
            Some(&referrer.token),
            json!({ "events": events }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "events_refused");
    let errors: Vec<(&str, &str)> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap(),
                e["message"].as_str().unwrap().split(':').next().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("events[2]", "future_event"),
            ("events[3]", "self_referral")
        ]
    );
    // Partial acceptance stores the good one, reports the duplicate and the refusals.
    let partial = app
        .post(
            "/v1/touchpoints",
            Some(&referrer.token),
            json!({ "events": events, "partial": true }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(partial.body["accepted"], 1);
    assert_eq!(partial.body["duplicates"], json!(["e-1"]));
    assert_eq!(partial.body["partial"], true);
    assert_eq!(partial.body["rejected"].as_array().unwrap().len(), 2);
    // An event repeated inside one batch is stored once; duplicates in event order.
    let event = |id: &str| json!({ "event_id": id, "kind": "click", "customer_ref": "cust", "occurred_at": minutes(-3) });
    let repeated = app
        .post(
            "/v1/touchpoints",
            Some(&referrer.token),
            json!({ "events": [event("e-5"), event("e-1"), event("e-5"), event("e-6"), event("e-2")] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(repeated.body["accepted"], 2);
    assert_eq!(repeated.body["duplicates"], json!(["e-1", "e-5", "e-2"]));
    assert_eq!(repeated.body["partial"], false);
    // Too many events, or someone else's partner id.
    let many: Vec<_> = (0..1001)
        .map(|i| json!({ "event_id": format!("m-{i}"), "kind": "click", "customer_ref": "c", "occurred_at": minutes(-1) }))
        .collect();
    app.post(
        "/v1/touchpoints",
        Some(&referrer.token),
        json!({ "events": many }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let other = app.partner("other").await;
    app.post(
        "/v1/touchpoints",
        Some(&referrer.token),
        json!({ "events": [{ "event_id": "x", "partner_id": other.id, "kind": "click", "customer_ref": "c", "occurred_at": minutes(-1) }] }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "events_refused");
}

#[tokio::test]
async fn a_sale_is_split_between_referrers_to_the_cent() {
    let app = TestApp::new().await;
    let (merchant, first) = merchant_and_referrer(&app).await;
    let second = app.partner("news").await;
    app.partnership(&merchant, &second).await;
    app.call(
        Method::PUT,
        "/v1/attribution/default-model",
        Some(&merchant.token),
        Some(json!({ "model": "linear" })),
        &[],
    )
    .await
    .expect(StatusCode::OK);
    touch(&app, &first, "a", "click", "cust-7", minutes(-30)).await;
    touch(&app, &second, "b", "referral", "cust-7", minutes(-20)).await;
    let sale = convert(
        &app,
        &merchant,
        order("o-9", "cust-7", minutes(0), &[("X", 1, "100.01")]),
    )
    .await;
    assert_eq!(sale["model"], "linear");
    let mut amounts: Vec<&str> = sale["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_str().unwrap())
        .collect();
    amounts.sort();
    assert_eq!(amounts, vec!["50.00", "50.01"]);
    let weights: Vec<&str> = sale["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["weight"].as_str().unwrap())
        .collect();
    assert_eq!(weights, vec!["0.500000000000", "0.500000000000"]);
}

/// Bulk imports refresh the planner's statistics as they grow the tables: on PostgreSQL an
/// `ANALYZE` that records the rows stored; on SQLite nothing (no statistics table appears,
/// so no plan of the application changes).
#[tokio::test]
async fn refreshing_statistics_counts_the_stored_rows_on_postgres_only() {
    let app = TestApp::new().await;
    let (_, referrer) = merchant_and_referrer(&app).await;
    for n in 0..3 {
        touch(
            &app,
            &referrer,
            &format!("e{n}"),
            "click",
            "c1",
            minutes(-1),
        )
        .await;
    }
    app.store.refresh_statistics().await.unwrap();
    let db = Database::connect(&app.database_url).await.unwrap();
    let backend = db.get_database_backend();
    let probe = match backend {
        DbBackend::Postgres => {
            "SELECT reltuples::bigint AS n FROM pg_class WHERE relname = 'touchpoints'"
        }
        _ => "SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_stat1'",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, probe))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    let expected = if backend == DbBackend::Postgres { 3 } else { 0 };
    assert_eq!(n, expected, "{backend:?}");
}

#[tokio::test]
async fn a_blank_customer_or_click_id_is_refused_like_a_missing_one() {
    let app = TestApp::new().await;
    let (_merchant, referrer) = merchant_and_referrer(&app).await;
    let events = json!([
        { "event_id": "b-1", "kind": "click", "customer_ref": "   ", "occurred_at": minutes(-1) },
        { "event_id": "b-2", "kind": "click", "click_id": "", "occurred_at": minutes(-1) },
        { "event_id": "b-3", "kind": "click", "customer_ref": "cust", "click_id": " ", "occurred_at": minutes(-1) },
        { "event_id": "b-4", "kind": "click", "customer_ref": "c".repeat(201), "occurred_at": minutes(-1) },
        { "event_id": "b-5", "kind": "click", "click_id": "tab\there", "occurred_at": minutes(-1) },
    ]);
    let refused = app
        .post(
            "/v1/touchpoints",
            Some(&referrer.token),
            json!({ "events": events }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "events_refused");
    let errors: Vec<(&str, &str)> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap(),
                e["message"].as_str().unwrap().split(':').next().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("events[0]", "missing_customer"),
            ("events[1]", "missing_customer"),
            ("events[2]", "missing_customer"),
            ("events[3]", "invalid_customer_ref"),
            ("events[4]", "invalid_customer_ref")
        ]
    );
    // Nothing was stored: the same ids with real references are accepted, not duplicates.
    touch(&app, &referrer, "b-1", "click", "cust", minutes(-1)).await;
}

#[tokio::test]
async fn head_records_no_click_and_a_click_id_in_the_destination_is_replaced() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let destination = "https://shop.test/p?cosell_click_id=old&ref=1";
    let link = create_link(&app, &referrer, &merchant, destination, json!({})).await;
    let path = link.body["path"].as_str().unwrap().to_owned();
    let head = app
        .call(
            Method::HEAD,
            &path,
            None,
            None,
            &[("user-agent", "Mozilla/5.0")],
        )
        .await
        .expect(StatusCode::FOUND);
    assert_eq!(
        head.headers["location"].to_str().unwrap(),
        "https://shop.test/p?ref=1"
    );
    assert_eq!(app.rows_in("clicks").await, 0);
    app.call(Method::HEAD, "/r/nope", None, None, &[])
        .await
        .expect(StatusCode::NOT_FOUND);

    let click_id = follow(&app, &path, "Mozilla/5.0").await;
    assert_eq!(app.rows_in("clicks").await, 1);
    let get = app
        .call(
            Method::GET,
            &path,
            None,
            None,
            &[("user-agent", "Mozilla/5.0")],
        )
        .await
        .expect(StatusCode::FOUND);
    let location = get.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://shop.test/p?ref=1&cosell_click_id="),
        "{location}"
    );
    assert_eq!(
        location.matches("cosell_click_id=").count(),
        1,
        "{location}"
    );
    assert_ne!(click_id, "old");
}

#[tokio::test]
async fn routes_without_query_parameters_refuse_unknown_ones() {
    let app = TestApp::new().await;
    let (merchant, referrer) = merchant_and_referrer(&app).await;
    let link = create_link(&app, &referrer, &merchant, "https://shop.test/", json!({})).await;
    let sale = convert(
        &app,
        &merchant,
        order("o", "cust", minutes(0), &[("A", 1, "5.00")]),
    )
    .await;
    let sale = sale["id"].as_str().unwrap();
    for (path, who) in [
        ("/v1/tracking-links".to_owned(), &referrer),
        (format!("/v1/tracking-links/{}", link.id()), &referrer),
        (format!("/v1/conversions/{sale}"), &merchant),
        (format!("/v1/conversions/{sale}/attribution"), &merchant),
    ] {
        app.get(&path, Some(&who.token))
            .await
            .expect(StatusCode::OK);
        app.get(&format!("{path}?foo=1"), Some(&who.token))
            .await
            .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
    }
}
