//! Tenant isolation: for every route that holds partner data, partner B can neither read,
//! list, change nor delete partner A's resource, and gets exactly the answer a missing
//! resource gets.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, TestPartner};

/// One partner's catalog rows: two products, a relation, a bundle, an invitation of another
/// partner and a draft offer.
pub struct Catalog {
    pub p1: String,
    pub p2: String,
    pub relation: String,
    pub bundle: String,
    pub partnership: String,
    pub offer: String,
}

impl Catalog {
    /// `owner`'s catalog, with its invitation sent to `invitee`.
    pub async fn of(app: &TestApp, owner: &TestPartner, invitee: &TestPartner) -> Catalog {
        let p1 = app.product(owner, "A1", "c", "10", "5").await;
        let p2 = app.product(owner, "A2", "d", "20", "5").await;
        let [relation, bundle, offer] = creations(&p1, &p2).map(|(path, body)| async move {
            app.post(path, Some(&owner.token), body)
                .await
                .expect(StatusCode::CREATED)
                .id()
        });
        let (relation, bundle, offer) = (relation.await, bundle.await, offer.await);
        let partnership = app
            .post(
                "/v1/partnerships",
                Some(&owner.token),
                json!({ "invitee_id": invitee.id, "commission_percent": "5", "currency": "EUR" }),
            )
            .await
            .expect(StatusCode::CREATED)
            .id();
        Catalog {
            p1,
            p2,
            relation,
            bundle,
            partnership,
            offer,
        }
    }

    /// The writes that create a relation, a bundle and an offer of these products.
    pub fn creations(&self) -> [(&'static str, Value); 3] {
        creations(&self.p1, &self.p2)
    }

    /// Every change a partner may make to these rows, as (method, path, body).
    pub fn writes(&self) -> Vec<(Method, String, Option<Value>)> {
        let Catalog {
            p1,
            relation,
            bundle,
            partnership,
            offer,
            ..
        } = self;
        let mut writes = vec![
            (
                Method::PATCH,
                format!("/v1/products/{p1}"),
                Some(json!({ "price": "1" })),
            ),
            (Method::DELETE, format!("/v1/products/{p1}"), None),
            (Method::DELETE, format!("/v1/relations/{relation}"), None),
            (
                Method::PATCH,
                format!("/v1/bundles/{bundle}"),
                Some(json!({ "name": "mine" })),
            ),
            (Method::DELETE, format!("/v1/bundles/{bundle}"), None),
            (
                Method::PATCH,
                format!("/v1/offers/{offer}"),
                Some(json!({ "discount_percent": "50" })),
            ),
            (Method::DELETE, format!("/v1/offers/{offer}"), None),
        ];
        for action in ["accept", "decline", "end"] {
            let path = format!("/v1/partnerships/{partnership}/{action}");
            writes.push((Method::POST, path, Some(json!({}))));
        }
        for action in ["publish", "pause", "archive"] {
            let path = format!("/v1/offers/{offer}/{action}");
            writes.push((Method::POST, path, Some(json!({}))));
        }
        writes
    }
}

/// A relation, a bundle and an offer of `p1` and `p2`: (path, body) of each creation.
fn creations(p1: &str, p2: &str) -> [(&'static str, Value); 3] {
    [
        (
            "/v1/relations",
            json!({ "kind": "accessory", "from_product_id": p1, "to_product_id": p2 }),
        ),
        (
            "/v1/bundles",
            json!({ "name": "S", "currency": "EUR", "discount_percent": "0", "margin_floor": "0", "product_ids": [p1, p2] }),
        ),
        (
            "/v1/offers",
            json!({ "product_id": p1, "anchor_product_ids": [p2], "discount_percent": "5", "channels": ["checkout"] }),
        ),
    ]
}

#[tokio::test]
async fn another_partners_resources_are_invisible_and_untouchable() {
    let app = TestApp::new().await;
    let a = app.partner("alpha").await;
    let b = app.partner("beta").await;
    let c = app.partner("gamma").await;

    // A's world: its catalog (with a partnership offered to C) and a key.
    let catalog = Catalog::of(&app, &a, &c).await;
    let Catalog {
        p1,
        bundle,
        partnership,
        offer,
        ..
    } = &catalog;
    let keys = app
        .get("/v1/api-keys", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    let a_key = keys.body["items"][0]["id"].as_str().unwrap().to_owned();

    let missing = uuid::Uuid::now_v7().to_string();
    let mut attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/partners/{}", a.id), None),
        (Method::DELETE, format!("/v1/api-keys/{a_key}"), None),
        (Method::GET, format!("/v1/products/{p1}"), None),
        (Method::GET, format!("/v1/products/{p1}/relations"), None),
        (Method::GET, format!("/v1/bundles/{bundle}"), None),
        (Method::GET, format!("/v1/partnerships/{partnership}"), None),
        (Method::GET, format!("/v1/offers/{offer}"), None),
    ];
    attempts.extend(catalog.writes());
    for (method, path, body) in attempts {
        let as_b = app
            .call(
                method.clone(),
                &path,
                Some(&b.token),
                body.clone(),
                &[("if-match", "\"1\"")],
            )
            .await;
        assert_eq!(
            as_b.status,
            StatusCode::NOT_FOUND,
            "{method} {path} as another partner: {}",
            as_b.body
        );
        // Exactly the answer a missing id gets: nothing tells B the resource exists.
        let id = path.split('/').nth(3).unwrap();
        let missing_path = path.replacen(id, &missing, 1);
        let absent = app
            .call(
                method.clone(),
                &missing_path,
                Some(&b.token),
                body,
                &[("if-match", "\"1\"")],
            )
            .await;
        assert_eq!(
            (as_b.status, as_b.code()),
            (absent.status, absent.code()),
            "{method} {path}"
        );
    }

    // B's attempts to use A's products in its own writes fail the same way.
    for (path, body) in catalog.creations() {
        app.post(path, Some(&b.token), body)
            .await
            .expect_problem(StatusCode::NOT_FOUND, "not_found");
    }

    // B's lists hold none of A's data.
    for list in [
        "/v1/products",
        "/v1/bundles",
        "/v1/partnerships",
        "/v1/offers",
        "/v1/api-keys",
    ] {
        let listed = app.get(list, Some(&b.token)).await.expect(StatusCode::OK);
        let items = listed.body["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .all(|i| i["partner_id"] != a.id.as_str() && i["inviter_id"] != a.id.as_str()),
            "{list}: {items:?}"
        );
    }
    let filtered = app
        .get(&format!("/v1/products?partner_id={}", a.id), Some(&b.token))
        .await
        .expect(StatusCode::OK);
    assert!(
        filtered.body["items"].as_array().unwrap().is_empty(),
        "a partner_id filter cannot widen a partner's view"
    );

    // Nothing of A's changed.
    let product = app
        .get(&format!("/v1/products/{p1}"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            product.body["price"].as_str(),
            product.body["version"].as_i64()
        ),
        (Some("10.00"), Some(1))
    );
    let still = app
        .get(&format!("/v1/offers/{offer}"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(still.body["status"], "draft");
    let invite = app
        .get(&format!("/v1/partnerships/{partnership}"), Some(&c.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(invite.body["status"], "invited");
    app.get("/v1/partners/me", Some(&a.token))
        .await
        .expect(StatusCode::OK);
    app.get(&format!("/v1/bundles/{bundle}"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
    app.get(&format!("/v1/products/{p1}/relations"), Some(&a.token))
        .await
        .expect(StatusCode::OK);
}
