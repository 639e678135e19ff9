//! Conversions imported chunk after chunk (`ConversionImport`, behind `cosell import
//! conversions`), each chunk checked while the one before it is written: the outcomes and
//! commissions are those of recording the chunks one by one, with orders repeated across
//! chunks, tiers crossed between them, and a bad chunk after a good one.
//!
//! Each test holds the first chunk's write back until the second chunk has been handed
//! over: another connection's open transaction has stored the first chunk's first order,
//! which takes SQLite's write lock and, on PostgreSQL, that order's unique key.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_store::conversion_import::ConversionImport;
use cosell_store::conversions::{NewConversion, NewLine, Recorded};
use cosell_store::{StoreError, Tenant};
use sea_orm::sea_query::{Alias, Order, Query};
use sea_orm::{ConnectionTrait, Database, DatabaseTransaction, TransactionTrait};

use crate::sales::{merchant_and_referrer, minutes, tiered_merchant_touched, touch};
use crate::support::TestApp;

/// One line of SKU `A` at `price` for customer `cust`.
fn sale(order_id: &str, price: &str, at: DateTime<Utc>) -> NewConversion {
    NewConversion {
        order_id: order_id.to_owned(),
        customer_ref: "cust".to_owned(),
        click_id: None,
        occurred_at: at,
        currency: "EUR".to_owned(),
        lines: vec![NewLine {
            product_id: None,
            sku: Some("A".to_owned()),
            category: None,
            quantity: 1,
            unit_price: price.parse().unwrap(),
        }],
    }
}

/// An open transaction on another connection that has stored `merchant`'s `order_id`.
async fn hold_writes(app: &TestApp, merchant: PartnerId, order_id: &str) -> DatabaseTransaction {
    let other = Database::connect(&app.database_url).await.unwrap();
    let txn = other.begin().await.unwrap();
    let now = Utc::now();
    let insert = Query::insert()
        .into_table(Alias::new("conversions"))
        .columns(
            [
                "id",
                "merchant_id",
                "order_id",
                "customer_ref",
                "occurred_at",
                "currency",
                "amount_minor",
                "request_hash",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            uuid::Uuid::now_v7().into(),
            merchant.0.into(),
            order_id.into(),
            "holder".into(),
            now.into(),
            "EUR".into(),
            1_i64.into(),
            "holder".into(),
            now.into(),
        ])
        .to_owned();
    txn.execute(&insert).await.unwrap();
    txn
}

/// Rolls `held` back a moment from now, while the caller waits on the write it holds.
async fn release_soon(held: DatabaseTransaction) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    held.rollback().await.unwrap();
}

/// What an import answered for two chunks of `merchant`'s, the second handed over while
/// the first one's write is held back by another transaction that stored `first`'s first
/// order. The import is left to `finish`.
struct TwoChunks {
    import: ConversionImport,
    first_answer: Vec<Recorded>,
    second_answer: Result<Vec<Recorded>, StoreError>,
}

async fn two_chunks(
    app: &TestApp,
    merchant: PartnerId,
    first: Vec<NewConversion>,
    second: Vec<NewConversion>,
) -> TwoChunks {
    let held = hold_writes(app, merchant, &first[0].order_id).await;
    let mut import = ConversionImport::new(app.store.clone());
    let first_answer = import.record(merchant, first, Utc::now()).await.unwrap();
    let (second_answer, ()) = tokio::join!(
        import.record(merchant, second, Utc::now()),
        release_soon(held)
    );
    TwoChunks {
        import,
        first_answer,
        second_answer,
    }
}

/// The order ids of every stored conversion, sorted.
async fn stored_orders(app: &TestApp) -> Vec<String> {
    let db = Database::connect(&app.database_url).await.unwrap();
    let select = Query::select()
        .column(Alias::new("order_id"))
        .from(Alias::new("conversions"))
        .order_by(Alias::new("order_id"), Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("", "order_id").unwrap())
        .collect()
}

fn id_of(outcome: &Recorded) -> uuid::Uuid {
    match outcome {
        Recorded::Created(id) | Recorded::Replayed(id) | Recorded::Conflict(id) => *id,
    }
}

/// The first credit's commission of each conversion, in minor units.
async fn commissions(app: &TestApp, stored: &[Recorded]) -> Vec<i64> {
    let mut out = Vec::new();
    for outcome in stored {
        let record = app
            .store
            .get_conversion(Tenant::All, id_of(outcome))
            .await
            .unwrap();
        out.push(record.credits[0].commission_minor);
    }
    out
}

async fn merchant_with_touch(app: &TestApp) -> PartnerId {
    let (merchant, referrer) = merchant_and_referrer(app).await;
    touch(app, &referrer, "t", "click", "cust", minutes(-30)).await;
    PartnerId(merchant.id.parse().unwrap())
}

#[tokio::test]
async fn an_order_repeated_in_the_next_chunk_replays_or_conflicts_as_one_by_one() {
    let app = TestApp::new().await;
    let merchant = merchant_with_touch(&app).await;
    let at = minutes(-5);
    let first = vec![sale("o-1", "50.00", at), sale("o-2", "30.00", at)];
    // Checked while the first chunk waits: o-1 and o-2 look new, and the key refuses them.
    let second = vec![
        sale("o-1", "50.00", at),
        sale("o-2", "31.00", at),
        sale("o-3", "20.00", at),
    ];
    let chunks = two_chunks(&app, merchant, first, second).await;
    assert!(chunks.first_answer.is_empty());
    let first_stored = chunks.second_answer.unwrap();
    let second_stored = chunks.import.finish().await.unwrap();

    let [Recorded::Created(one), Recorded::Created(two)] = first_stored[..] else {
        panic!("{first_stored:?}");
    };
    assert_eq!(second_stored[0], Recorded::Replayed(one));
    assert_eq!(second_stored[1], Recorded::Conflict(two));
    assert!(matches!(second_stored[2], Recorded::Created(_)));
    let stored = [first_stored, vec![second_stored[2]]].concat();
    assert_eq!(commissions(&app, &stored).await, vec![500, 300, 200]);
    assert_eq!(stored_orders(&app).await, ["o-1", "o-2", "o-3"]);
}

/// A tier crossed by the second chunk is rated on the first chunk's revenue, which the
/// second chunk's check would not see while the first is still being written.
#[tokio::test]
async fn a_tier_reached_in_the_next_chunk_counts_the_chunk_before_it() {
    let app = TestApp::new().await;
    let merchant = tiered_merchant_touched(&app).await;
    let merchant = PartnerId(merchant.id.parse().unwrap());

    let first = vec![
        sale("o-1", "70.00", minutes(-10)),
        sale("o-2", "20.00", minutes(-3)),
    ];
    let second = vec![sale("o-3", "20.00", minutes(-2))];
    let chunks = two_chunks(&app, merchant, first, second).await;
    let stored = [
        chunks.second_answer.unwrap(),
        chunks.import.finish().await.unwrap(),
    ]
    .concat();
    // Revenue 70 → 7.00; 90 → 2.00 at 10%; 110 reaches the tier → 4.00 at 20%.
    assert_eq!(commissions(&app, &stored).await, vec![700, 200, 400]);
}

#[tokio::test]
async fn a_bad_chunk_is_refused_after_the_chunk_before_it_is_stored() {
    let app = TestApp::new().await;
    let merchant = merchant_with_touch(&app).await;
    let first = vec![sale("o-1", "50.00", minutes(-5))];
    let future_dated = vec![sale(
        "o-2",
        "30.00",
        Utc::now() + chrono::Duration::hours(1),
    )];
    let chunks = two_chunks(&app, merchant, first, future_dated).await;
    let refused = chunks.second_answer;
    let Err(StoreError::Invalid(errors)) = refused else {
        panic!("{refused:?}");
    };
    assert!(errors.to_string().contains("occurred_at"), "{errors}");
    let stored = chunks.import.finish().await.unwrap();
    assert!(matches!(stored[..], [Recorded::Created(_)]), "{stored:?}");
    assert_eq!(stored_orders(&app).await, ["o-1"]);
}
