//! Partnerships: invited → active → ended, or declined; only the invitee answers.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

fn terms(invitee: &str) -> serde_json::Value {
    json!({ "invitee_id": invitee, "commission_percent": "12.5", "commission_flat": "1.00", "currency": "EUR",
            "attribution_window_days": 30, "hold_days": 14 })
}

#[tokio::test]
async fn an_invitation_is_accepted_and_ended() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    let invited = app
        .post("/v1/partnerships", Some(&shop.token), terms(&aff.id))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(invited.body["status"], "invited");
    assert_eq!(invited.body["commission_percent"], "12.5");
    assert_eq!(invited.body["commission_flat"], "1.00");
    let id = invited.id();
    app.post(
        &format!("/v1/partnerships/{id}/accept"),
        Some(&shop.token),
        json!({}),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "not_invitee");
    let active = app
        .post(
            &format!("/v1/partnerships/{id}/accept"),
            Some(&aff.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(active.body["status"], "active");
    let seen_by_aff = app
        .get("/v1/partnerships?status=active", Some(&aff.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(seen_by_aff.body["items"][0]["id"], id.as_str());
    app.post("/v1/partnerships", Some(&shop.token), terms(&aff.id))
        .await
        .expect_problem(StatusCode::CONFLICT, "partnership_exists");
    let ended = app
        .post(
            &format!("/v1/partnerships/{id}/end"),
            Some(&shop.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(ended.body["status"], "ended");
    app.post(
        &format!("/v1/partnerships/{id}/accept"),
        Some(&aff.token),
        json!({}),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "invalid_transition");
    // Once ended, the pair may start over.
    app.post("/v1/partnerships", Some(&aff.token), terms(&shop.id))
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn a_declined_invitation_is_final() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    let id = app
        .post("/v1/partnerships", Some(&shop.token), terms(&aff.id))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let declined = app
        .post(
            &format!("/v1/partnerships/{id}/decline"),
            Some(&aff.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(declined.body["status"], "declined");
    app.post(
        &format!("/v1/partnerships/{id}/end"),
        Some(&shop.token),
        json!({}),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "invalid_transition");
}

#[tokio::test]
async fn bad_invitations_are_refused() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    app.post("/v1/partnerships", Some(&shop.token), terms(&shop.id))
        .await
        .expect_problem(StatusCode::CONFLICT, "self_invite");
    let nobody = uuid::Uuid::now_v7().to_string();
    app.post("/v1/partnerships", Some(&shop.token), terms(&nobody))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "not_found");
    let aff = app.partner("aff").await;
    let bad = app
        .post("/v1/partnerships", Some(&shop.token), json!({ "invitee_id": aff.id, "currency": "EUR", "attribution_window_days": 0, "hold_days": 400 }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        bad.fields(),
        ["commission_percent", "attribution_window_days", "hold_days"]
    );
}

#[tokio::test]
async fn a_half_life_out_of_range_is_refused_not_a_crash() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    for seconds in [i64::MAX, 0, 315_360_001] {
        let model = json!({ "model": "time_decay", "half_life_seconds": seconds });
        let default = app
            .put(
                "/v1/attribution/default-model",
                Some(&shop.token),
                model.clone(),
            )
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        // The model is the whole body here: the field is named as the client sent it.
        assert_eq!(default.fields(), ["half_life_seconds"]);
        let mut body = terms(&aff.id);
        body["attribution_model"] = model;
        let partnership = app
            .post("/v1/partnerships", Some(&shop.token), body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            partnership.fields(),
            ["attribution_model.half_life_seconds"]
        );
    }
    // Nothing was stored: the invitation can still be made, with the longest half-life.
    let mut body = terms(&aff.id);
    body["attribution_model"] = json!({ "model": "time_decay", "half_life_seconds": 315_360_000 });
    app.post("/v1/partnerships", Some(&shop.token), body)
        .await
        .expect(StatusCode::CREATED);
}

/// The default model is the whole body of its PUT: a refusal names the body's own field
/// (`model`, `plugin_id`), not `model.model`, which the client never sent.
#[tokio::test]
async fn a_default_model_refusal_names_the_field_sent() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    for (body, field) in [
        (json!({ "model": "nope" }), "model"),
        (json!({ "model": "linear", "plugin_id": "ab" }), "plugin_id"),
    ] {
        let refused = app
            .put("/v1/attribution/default-model", Some(&shop.token), body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.fields(), [field]);
    }
    // In a partnership the model sits under `attribution_model`, and is named so.
    let aff = app.partner("aff").await;
    let mut body = terms(&aff.id);
    body["attribution_model"] = json!({ "model": "nope" });
    let refused = app
        .post("/v1/partnerships", Some(&shop.token), body)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.fields(), ["attribution_model.model"]);
}

/// One answer lists every bad field of an invitation: the base terms, the model and
/// impressions, and the extra terms (categories, tiers, cap) were three stages, and a bad
/// base term hid every other one until it was fixed.
#[tokio::test]
async fn an_invitation_lists_every_bad_field_at_once() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    let mut body = terms(&aff.id);
    body["hold_days"] = json!(-1);
    body["attribution_model"] = json!({ "model": "nope" });
    body["category_rates"] = json!({ "tents": "200" });
    body["tiers"] = json!([{ "from": "0", "percent": "500" }]);
    body["cap_per_conversion"] = json!("-1");
    let refused = app
        .post("/v1/partnerships", Some(&shop.token), body)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        refused.fields(),
        [
            "hold_days",
            "attribution_model.model",
            "category_rates.tents",
            "tiers[0].percent",
            "cap_per_conversion"
        ]
    );
}

#[tokio::test]
async fn tier_thresholds_finer_than_the_currency_are_refused() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let aff = app.partner("aff").await;
    let mut body = terms(&aff.id);
    body["tiers"] = json!([{ "from": "100.001", "percent": "10" }]);
    let refused = app
        .post("/v1/partnerships", Some(&shop.token), body)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.fields(), ["tiers[0].from"]);
    let message = refused.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("more than 2 decimal places"), "{message}");
    // Nothing was stored: the pair may still open its one partnership.
    let mut body = terms(&aff.id);
    body["tiers"] = json!([{ "from": "100.01", "percent": "10" }]);
    app.post("/v1/partnerships", Some(&shop.token), body)
        .await
        .expect(StatusCode::CREATED);
}
