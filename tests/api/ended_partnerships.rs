//! Ending a partnership archives the invitee's offers on the inviter's products, so they
//! no longer keep the inviter from deleting its own products; a migration does the same for
//! partnerships ended before.

use axum::http::StatusCode;
use cosell_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::support::{TestApp, TestPartner, undo_migrations_from};

/// `owner`'s offer of `product` next to `anchor_partner`'s `anchor`; returns its id.
async fn offer(
    app: &TestApp,
    owner: &TestPartner,
    product: &str,
    anchor_partner: &TestPartner,
    anchor: &str,
) -> String {
    let body = json!({ "product_id": product, "anchor_partner_id": anchor_partner.id, "anchor_product_ids": [anchor], "discount_percent": "10", "channels": ["checkout"] });
    app.post("/v1/offers", Some(&owner.token), body)
        .await
        .expect(StatusCode::CREATED)
        .id()
}

async fn status_and_version(app: &TestApp, owner: &TestPartner, offer: &str) -> Value {
    let got = app
        .get(&format!("/v1/offers/{offer}"), Some(&owner.token))
        .await
        .expect(StatusCode::OK);
    json!([got.body["status"], got.body["version"]])
}

#[tokio::test]
async fn ending_a_partnership_archives_the_invitees_offers_on_the_inviters_products() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let gear = app.partner("gear").await;
    let tent = app.product(&shop, "TENT", "tents", "250", "150").await;
    let stakes = app.product(&gear, "STAKES", "pegs", "39", "10").await;
    let lamp = app.product(&gear, "LAMP", "lamps", "20", "5").await;
    let partnership = app.partnership(&shop, &gear).await;
    let draft = offer(&app, &gear, &stakes, &shop, &tent).await;
    let published = offer(&app, &gear, &lamp, &shop, &tent).await;
    app.post(
        &format!("/v1/offers/{published}/publish"),
        Some(&gear.token),
        json!({}),
    )
    .await
    .expect(StatusCode::OK);
    // An offer next to the gear maker's own product owes nothing to the partnership.
    let own = offer(&app, &gear, &stakes, &gear, &lamp).await;
    app.delete(&format!("/v1/products/{tent}"), Some(&shop.token))
        .await
        .expect_problem(StatusCode::CONFLICT, "product_in_use");

    app.post(
        &format!("/v1/partnerships/{partnership}/end"),
        Some(&shop.token),
        json!({}),
    )
    .await
    .expect(StatusCode::OK);

    assert_eq!(
        status_and_version(&app, &gear, &draft).await,
        json!(["archived", 2])
    );
    assert_eq!(
        status_and_version(&app, &gear, &published).await,
        json!(["archived", 3])
    );
    assert_eq!(
        status_and_version(&app, &gear, &own).await,
        json!(["draft", 1])
    );
    app.delete(&format!("/v1/products/{tent}"), Some(&shop.token))
        .await
        .expect(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_migration_archives_offers_of_partnerships_ended_before() {
    let app = TestApp::new().await;
    let shop = app.partner("shop").await;
    let gear = app.partner("gear").await;
    let tent = app.product(&shop, "TENT", "tents", "250", "150").await;
    let stakes = app.product(&gear, "STAKES", "pegs", "39", "10").await;
    let partnership = app.partnership(&shop, &gear).await;
    let orphan = offer(&app, &gear, &stakes, &shop, &tent).await;
    // A partnership ended by an earlier release, which left its offers as they were.
    let db = Database::connect(&app.database_url).await.unwrap();
    let id = uuid::Uuid::parse_str(&partnership).unwrap();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "UPDATE partnerships SET status = 'ended' WHERE id = $1"
            }
            _ => "UPDATE partnerships SET status = 'ended' WHERE id = ?",
        },
        [id.into()],
    ))
    .await
    .unwrap();
    app.delete(&format!("/v1/products/{tent}"), Some(&shop.token))
        .await
        .expect_problem(StatusCode::CONFLICT, "product_in_use");

    undo_migrations_from(&db, "m20261126_000013_offers_of_ended_partnerships").await;
    Migrator::up(&db, None).await.unwrap();

    assert_eq!(
        status_and_version(&app, &gear, &orphan).await,
        json!(["archived", 2])
    );
    app.delete(&format!("/v1/products/{tent}"), Some(&shop.token))
        .await
        .expect(StatusCode::NO_CONTENT);
}
