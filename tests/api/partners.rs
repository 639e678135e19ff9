//! Partners: operators manage them; a partner sees only itself.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn operators_create_list_and_get_partners() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    let b = app.partner("bolt").await;
    let page = app
        .get("/v1/partners?limit=1", Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["items"][0]["id"], a.id.as_str());
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/v1/partners?limit=1&cursor={cursor}"),
            Some(&app.operator),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(next.body["items"][0]["id"], b.id.as_str());
    assert!(next.body["next_cursor"].is_null());
    let one = app
        .get(&format!("/v1/partners/{}", b.id), Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    assert_eq!(one.body["slug"], "bolt");
    assert_eq!(one.etag(), "\"1\"");
}

#[tokio::test]
async fn slugs_are_unique_and_fields_validated() {
    let app = TestApp::new().await;
    app.partner("acme").await;
    app.post(
        "/v1/partners",
        Some(&app.operator),
        json!({ "name": "Again", "slug": "acme", "contact_email": "a@b.test" }),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "slug_taken");
    let bad = app
        .post(
            "/v1/partners",
            Some(&app.operator),
            json!({ "name": "", "slug": "Not Ok", "contact_email": "nope" }),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.fields(), ["name", "slug", "contact_email"]);
}

#[tokio::test]
async fn partners_cannot_manage_partners() {
    let app = TestApp::new().await;
    let a = app.partner("acme").await;
    app.post(
        "/v1/partners",
        Some(&a.token),
        json!({ "name": "X", "slug": "xx", "contact_email": "a@b.test" }),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/v1/partners", Some(&a.token))
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post(
        &format!("/v1/partners/{}/suspend", a.id),
        Some(&a.token),
        json!({}),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    let me = app
        .get(&format!("/v1/partners/{}", a.id), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(me.body["slug"], "acme");
    app.get("/v1/partners/me", Some(&app.operator))
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
}
