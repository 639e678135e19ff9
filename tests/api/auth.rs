//! Authentication: every way a bearer token can be wrong is a 401 problem.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::support::{AUDIENCE, ISSUER, SECRET, TestApp};

/// The claims of a valid token, signed however the test likes.
fn claims(app_token: &str) -> Value {
    let payload = app_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn kid(token: &str) -> String {
    let header = jsonwebtoken::decode_header(token).unwrap();
    header.kid.unwrap()
}

fn sign(claims: &Value, alg: Algorithm, secret: &[u8], kid: &str) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test]
async fn a_key_exchanges_for_a_working_token() {
    let app = TestApp::new().await;
    let partner = app.partner("acme").await;
    let me = app
        .get("/v1/partners/me", Some(&partner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(me.body["id"], partner.id.as_str());
    let c = claims(&partner.token);
    for claim in [
        "sub",
        "role",
        "partner_id",
        "iat",
        "exp",
        "iss",
        "aud",
        "jti",
    ] {
        assert!(!c[claim].is_null(), "claim {claim} missing from {c}");
    }
    assert_eq!(c["role"], "partner");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["aud"], AUDIENCE);
    assert!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap() <= 900);
}

#[tokio::test]
async fn wrong_keys_do_not_get_tokens() {
    let app = TestApp::new().await;
    app.post("/v1/auth/token", None, json!({ "api_key": "nonsense" }))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_api_key");
    let key = app.store_key(cosell_core::Role::Operator, None).await;
    let mut tampered = key.clone();
    tampered.pop();
    tampered.push(if key.ends_with('0') { '1' } else { '0' });
    app.post("/v1/auth/token", None, json!({ "api_key": tampered }))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_api_key");
}

/// The RFC 6750 challenge of a 401 for a token that was sent but cannot be used.
const INVALID_TOKEN: &str = r#"Bearer error="invalid_token""#;

#[tokio::test]
async fn requests_without_a_usable_token_are_refused() {
    let app = TestApp::new().await;
    let missing = app
        .get("/v1/products", None)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
    app.call(
        axum::http::Method::GET,
        "/v1/products",
        None,
        None,
        &[("authorization", "Basic abc")],
    )
    .await
    .expect_problem(StatusCode::UNAUTHORIZED, "missing_token");
    let invalid = app
        .get("/v1/products", Some("not.a.jwt"))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(invalid.headers["www-authenticate"], INVALID_TOKEN);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::new().await;
    let auth = format!("bEaReR {}", app.operator);
    app.call(
        axum::http::Method::GET,
        "/v1/partners",
        None,
        None,
        &[("authorization", &auth)],
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let app = TestApp::new().await;
    let good = claims(&app.operator);
    let kid = kid(&app.operator);

    let bad_signature = sign(
        &good,
        Algorithm::HS256,
        b"another-secret-another-secret-another-secret",
        &kid,
    );
    app.get("/v1/partners", Some(&bad_signature))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    let other_alg = sign(&good, Algorithm::HS512, SECRET.as_bytes(), &kid);
    app.get("/v1/partners", Some(&other_alg))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    let unsigned_header =
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": kid }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(good.to_string());
    let alg_none = format!("{unsigned_header}.{payload}.");
    app.get("/v1/partners", Some(&alg_none))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    let mut expired = good.clone();
    expired["iat"] = json!(Utc::now().timestamp() - 7200);
    expired["exp"] = json!(Utc::now().timestamp() - 3600);
    let expired = sign(&expired, Algorithm::HS256, SECRET.as_bytes(), &kid);
    let refused = app
        .get("/v1/partners", Some(&expired))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "token_expired");
    assert_eq!(refused.headers["www-authenticate"], INVALID_TOKEN);

    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("someone-else");
    let wrong_iss = sign(&wrong_iss, Algorithm::HS256, SECRET.as_bytes(), &kid);
    app.get("/v1/partners", Some(&wrong_iss))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("another-api");
    let wrong_aud = sign(&wrong_aud, Algorithm::HS256, SECRET.as_bytes(), &kid);
    app.get("/v1/partners", Some(&wrong_aud))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    let unknown_kid = sign(
        &good,
        Algorithm::HS256,
        SECRET.as_bytes(),
        "0000000000000000",
    );
    app.get("/v1/partners", Some(&unknown_kid))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "invalid_token");

    // The control: the same claims signed properly are accepted.
    let resigned = sign(&good, Algorithm::HS256, SECRET.as_bytes(), &kid);
    app.get("/v1/partners", Some(&resigned))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn revoking_a_key_stops_its_tokens_at_once() {
    let app = TestApp::new().await;
    let partner = app.partner("acme").await;
    let keys = app
        .get("/v1/api-keys", Some(&partner.token))
        .await
        .expect(StatusCode::OK);
    let key_id = keys.body["items"][0]["id"].as_str().unwrap().to_owned();
    app.get("/v1/products", Some(&partner.token))
        .await
        .expect(StatusCode::OK);
    app.delete(&format!("/v1/api-keys/{key_id}"), Some(&app.operator))
        .await
        .expect(StatusCode::OK);
    app.get("/v1/products", Some(&partner.token))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "key_revoked");
}

#[tokio::test]
async fn suspending_a_partner_stops_its_tokens_at_once() {
    let app = TestApp::new().await;
    let partner = app.partner("acme").await;
    app.get("/v1/partners/me", Some(&partner.token))
        .await
        .expect(StatusCode::OK);
    let suspended = app
        .post(
            &format!("/v1/partners/{}/suspend", partner.id),
            Some(&app.operator),
            json!({}),
        )
        .await;
    assert_eq!(suspended.expect(StatusCode::OK).body["status"], "suspended");
    app.get("/v1/partners/me", Some(&partner.token))
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "partner_suspended");
    app.post(
        &format!("/v1/partners/{}/reactivate", partner.id),
        Some(&app.operator),
        json!({}),
    )
    .await
    .expect(StatusCode::OK);
    app.get("/v1/partners/me", Some(&partner.token))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn partner_keys_are_shown_once_and_listed_by_prefix() {
    let app = TestApp::new().await;
    let partner = app.partner("acme").await;
    let created = app
        .post(
            "/v1/api-keys",
            Some(&partner.token),
            json!({ "name": "checkout" }),
        )
        .await
        .expect(StatusCode::CREATED);
    let secret = created.body["secret"].as_str().unwrap();
    let prefix = created.body["prefix"].as_str().unwrap();
    assert!(secret.starts_with(prefix));
    let listed = app
        .get("/v1/api-keys", Some(&partner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    assert!(
        !listed.body.to_string().contains(secret),
        "a listing must never include a secret"
    );
}

#[tokio::test]
async fn a_partner_refused_an_operator_key_is_told_only_operators_make_them() {
    let app = TestApp::new().await;
    let partner = app.partner("acme").await;
    let other = app.partner("globex").await;
    // Naming itself as the owner does not make it an operator.
    for body in [
        json!({ "name": "x", "role": "operator" }),
        json!({ "name": "x", "role": "operator", "partner_id": partner.id }),
    ] {
        let refused = app
            .post("/v1/api-keys", Some(&partner.token), body)
            .await
            .expect_problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(
            refused.body["detail"],
            "only an operator can create operator keys"
        );
    }
    // A key for another partner is refused for what it is.
    let refused = app
        .post(
            "/v1/api-keys",
            Some(&partner.token),
            json!({ "name": "x", "partner_id": other.id }),
        )
        .await
        .expect_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        refused.body["detail"],
        "a partner can create keys only for itself"
    );
}

#[tokio::test]
async fn a_key_without_a_consistent_owner_is_a_validation_failure() {
    let app = TestApp::new().await;
    let partner = app.partner("acme").await;
    for body in [
        json!({ "name": "k" }),
        json!({ "name": "k", "role": "operator", "partner_id": partner.id }),
    ] {
        let refused = app
            .post("/v1/api-keys", Some(&app.operator), body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(refused.fields(), ["partner_id"]);
    }
    // Every bad field at once.
    let both = app
        .post("/v1/api-keys", Some(&app.operator), json!({ "name": " " }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(both.fields(), ["name", "partner_id"]);
}
