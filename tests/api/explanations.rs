//! Who may read a conversion's attribution explanation, and how much of it: the
//! merchant and operators everything, a credited referrer its own part, anyone else
//! nothing (404, as for an unknown id).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::sales::{convert, merchant_and_referrer, minutes, order, set_model, touch};
use crate::support::TestApp;

async fn explain(app: &TestApp, who: &str, sale: &str) -> Value {
    app.get(&format!("/v1/conversions/{sale}/attribution"), Some(who))
        .await
        .expect(StatusCode::OK)
        .body
}

/// `(partner id, field)` of each entry of `list` in a result, in the answer's order.
fn pairs(result: &Value, list: &str, field: &str) -> Vec<(String, String)> {
    result[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["partner_id"].as_str().unwrap().to_owned(),
                e[field].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(partner id, reason)` of each exclusion of a result, sorted.
fn excluded(result: &Value) -> Vec<(String, String)> {
    let mut all = pairs(result, "excluded", "reason");
    all.sort();
    all
}

/// `(partner id, weight)` of each touchpoint of a result, oldest first.
fn weights(result: &Value) -> Vec<(String, String)> {
    pairs(result, "touchpoints", "weight")
}

#[tokio::test]
async fn each_role_sees_what_it_may_of_an_attribution() {
    let app = TestApp::new().await;
    let (merchant, blog) = merchant_and_referrer(&app).await;
    let news = app.partner("news").await;
    app.partnership(&merchant, &news).await;
    // A partner without a partnership: its touch is excluded, it is never credited.
    let stranger = app.partner("stranger").await;
    let outsider = app.partner("outsider").await;
    set_model(&app, &merchant, "linear").await;
    touch(&app, &blog, "b1", "click", "cust", minutes(-30)).await;
    touch(&app, &news, "n1", "click", "cust", minutes(-20)).await;
    touch(&app, &stranger, "s1", "click", "cust", minutes(-10)).await;
    // After the sale: excluded, and explained to its owner only.
    touch(&app, &blog, "b2", "click", "cust", minutes(2)).await;
    touch(&app, &news, "n2", "click", "cust", minutes(3)).await;
    let sale = convert(
        &app,
        &merchant,
        order("o", "cust", minutes(0), &[("A", 1, "100.01")]),
    )
    .await;
    let id = sale["id"].as_str().unwrap();

    // The merchant and operators: everything, no summary.
    let full = explain(&app, &merchant.token, id).await;
    assert_eq!(full, explain(&app, &app.operator, id).await);
    let result = &full["items"][0];
    assert_eq!(
        weights(result),
        vec![
            (blog.id.clone(), "0.500000000000".to_owned()),
            (news.id.clone(), "0.500000000000".to_owned())
        ]
    );
    let mut expected = vec![
        (blog.id.clone(), "after_conversion".to_owned()),
        (news.id.clone(), "after_conversion".to_owned()),
        (stranger.id.clone(), "no_active_partnership".to_owned()),
    ];
    expected.sort();
    assert_eq!(excluded(result), expected);
    assert_eq!(result["others"], Value::Null);

    // The credited referrer: its touch, its exclusion, its share; the rest summed.
    // 100.01 split 50/50: the odd cent goes to the smaller partner id.
    let (blog_cents, news_cents) = if blog.id < news.id {
        (5001, 5000)
    } else {
        (5000, 5001)
    };
    let mine = explain(&app, &blog.token, id).await;
    let result = &mine["items"][0];
    assert_eq!(
        weights(result),
        vec![(blog.id.clone(), "0.500000000000".to_owned())]
    );
    assert_eq!(
        excluded(result),
        vec![(blog.id.clone(), "after_conversion".to_owned())]
    );
    assert_eq!(
        result["partners"],
        // Its own commission too (10%), not the others'.
        json!([{ "partner_id": blog.id, "weight": "0.500000000000", "amount_minor": blog_cents,
                 "commission_minor": 500, "commission_rule": "partnership_terms",
                 "commission_rule_version": "1", "commission_plugin": null }])
    );
    assert_eq!(
        result["others"],
        json!({ "partners": 1, "touchpoints": 1, "weight": "0.500000000000", "amount_minor": news_cents })
    );
    assert_eq!(result["base_minor"], 10001);
    let text = mine.to_string();
    for hidden in [&news.id, &stranger.id] {
        assert!(!text.contains(hidden.as_str()), "{text}");
    }

    // Neither merchant nor credited: the same 404 as an id that does not exist.
    let missing = app
        .get(
            &format!("/v1/conversions/{}/attribution", uuid::Uuid::now_v7()),
            Some(&outsider.token),
        )
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    for who in [&stranger, &outsider] {
        let refused = app
            .get(
                &format!("/v1/conversions/{id}/attribution"),
                Some(&who.token),
            )
            .await
            .expect_problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(refused.body, missing.body);
    }
    // The explanation is all a referrer reads: the conversion itself stays the merchant's.
    app.get(&format!("/v1/conversions/{id}"), Some(&blog.token))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_referrer_a_reattribution_uncredited_still_sees_why() {
    let app = TestApp::new().await;
    let (merchant, blog, news) = crate::sales::two_referrers_touched(&app, "cust").await;
    set_model(&app, &merchant, "first_touch").await;
    let sale = convert(
        &app,
        &merchant,
        order("o", "cust", minutes(-1), &[("A", 1, "80.00")]),
    )
    .await;
    let id = sale["id"].as_str().unwrap();
    // News has never been credited yet.
    app.get(
        &format!("/v1/conversions/{id}/attribution"),
        Some(&news.token),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "not_found");

    crate::sales::reattribute_last_hour(&app, &merchant, "last_touch").await;
    // Blog lost the credit but was credited before: it sees both results, its touch
    // weighing 0 in the current one and everything in the old one.
    let mine = explain(&app, &blog.token, id).await;
    let [current, old] = mine["items"].as_array().unwrap().as_slice() else {
        panic!("{mine}")
    };
    assert_eq!(current["model"], "last_touch");
    assert_eq!(
        weights(current),
        vec![(blog.id.clone(), "0.000000000000".to_owned())]
    );
    assert_eq!(current["partners"], json!([]));
    assert_eq!(
        current["others"],
        json!({ "partners": 1, "touchpoints": 1, "weight": "1.000000000000", "amount_minor": 8000 })
    );
    assert_eq!(old["superseded_by"], current["id"]);
    assert_eq!(
        old["partners"],
        json!([{ "partner_id": blog.id, "weight": "1.000000000000", "amount_minor": 8000,
                 "commission_minor": 800, "commission_rule": "partnership_terms",
                 "commission_rule_version": "1", "commission_plugin": null }])
    );
    // News, credited now, sees the old result too, with its touch at weight 0.
    let theirs = explain(&app, &news.token, id).await;
    assert_eq!(
        weights(&theirs["items"][1]),
        vec![(news.id.clone(), "0.000000000000".to_owned())]
    );
    assert_eq!(theirs["items"][1]["others"]["amount_minor"], 8000);
}
