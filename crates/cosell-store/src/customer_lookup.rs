//! A customer's profile, the impressions the contact cap counts and the products it bought,
//! read in one statement:
//! on SQLite every statement is a round trip to a connection's own thread, and on the
//! known-customer recommendation path those hand-offs (two wake-ups each, on busy cores)
//! cost more than the queries themselves.

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use sea_orm::sea_query::{
    Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, UnionType,
};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, QueryFilter, QueryResult,
    QuerySelect,
};
use uuid::Uuid;

use crate::entities::{
    conversion as sale, conversion_line as line, customer, product,
    recommendation_impression as shown,
};

/// An impression the cap counts: its id, what it showed, and the offer it came through.
pub(crate) type ShownRow = (Uuid, Uuid, Option<Uuid>);

const SHOWN_ID: &str = "shown_id";
const SHOWN_SUBJECT: &str = "shown_subject_id";
const SHOWN_OFFER: &str = "shown_offer_id";
const BOUGHT: &str = "bought_product_id";

/// What one statement reads of a known customer: the profile, its impressions of the
/// contact window, and the merchant's products on its conversion lines of the figures
/// window (by the line's product id, else by its SKU in the merchant's catalog).
pub(crate) struct KnownCustomer {
    pub profile: customer::Model,
    pub shown: Vec<ShownRow>,
    pub bought: Vec<Uuid>,
}

/// The merchant's profile of `reference` with what [`KnownCustomer`] holds, or `None`
/// when the merchant has no such profile. Impressions come after `shown_since`, purchases
/// after `bought_since` and up to `now`. Two selects joined by `UNION ALL`, each row
/// carrying the profile and either an impression or a purchased product.
pub(crate) async fn known_customer<C: ConnectionTrait>(
    db: &C,
    merchant: PartnerId,
    reference: &str,
    shown_since: DateTime<Utc>,
    bought_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<KnownCustomer>, DbErr> {
    let no_uuid = || Expr::val(Option::<Uuid>::None);
    let this_customer = |query: &mut SelectStatement| {
        query
            .and_where(Expr::col((customer::Entity, customer::Column::MerchantId)).eq(merchant.0))
            .and_where(Expr::col((customer::Entity, customer::Column::Reference)).eq(reference));
    };
    let mut impressions = Query::select();
    impressions
        .columns(customer::Column::iter().map(|c| (customer::Entity, c)))
        .expr_as(Expr::col((shown::Entity, shown::Column::Id)), SHOWN_ID)
        .expr_as(
            Expr::col((shown::Entity, shown::Column::SubjectId)),
            SHOWN_SUBJECT,
        )
        .expr_as(
            Expr::col((shown::Entity, shown::Column::OfferId)),
            SHOWN_OFFER,
        )
        .expr_as(no_uuid(), BOUGHT)
        .from(customer::Entity)
        .join(
            JoinType::LeftJoin,
            shown::Entity,
            Condition::all()
                .add(
                    Expr::col((shown::Entity, shown::Column::MerchantId))
                        .equals((customer::Entity, customer::Column::MerchantId)),
                )
                .add(
                    Expr::col((shown::Entity, shown::Column::CustomerRef))
                        .equals((customer::Entity, customer::Column::Reference)),
                )
                .add(Expr::col((shown::Entity, shown::Column::ShownAt)).gt(shown_since)),
        );
    this_customer(&mut impressions);
    let mut purchases = Query::select();
    purchases
        .columns(customer::Column::iter().map(|c| (customer::Entity, c)))
        .expr_as(no_uuid(), SHOWN_ID)
        .expr_as(no_uuid(), SHOWN_SUBJECT)
        .expr_as(no_uuid(), SHOWN_OFFER);
    add_purchases(&mut purchases, merchant, reference, bought_since, now);
    purchases.join(
        JoinType::InnerJoin,
        customer::Entity,
        Condition::all()
            .add(
                Expr::col((customer::Entity, customer::Column::MerchantId))
                    .equals((sale::Entity, sale::Column::MerchantId)),
            )
            .add(
                Expr::col((customer::Entity, customer::Column::Reference))
                    .equals((sale::Entity, sale::Column::CustomerRef)),
            ),
    );
    impressions.union(UnionType::All, purchases);
    let rows = db
        .query_all_raw(db.get_database_backend().build(&impressions))
        .await?;
    // (merchant_id, reference) is unique: every row holds the same profile.
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let profile = customer::Model::from_query_result(first, "")?;
    let mut known = KnownCustomer {
        profile,
        shown: Vec::new(),
        bought: Vec::new(),
    };
    for row in &rows {
        if let Some(shown) = shown_row(row)? {
            known.shown.push(shown);
        } else if let Some(product) = row.try_get::<Option<Uuid>>("", BOUGHT)? {
            known.bought.push(product);
        }
    }
    Ok(Some(known))
}

/// Appends the customer's purchases to `query` as its `BOUGHT` column: the lines of its
/// conversions with the merchant after `since` up to `now`, each the line's product, or
/// for a line given by SKU alone the merchant's product of that SKU. Driven from the
/// customer's conversions (`ix_conversions_merchant_customer`), never through the catalog.
fn add_purchases(
    query: &mut SelectStatement,
    merchant: PartnerId,
    reference: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    query
        .expr_as(
            Func::coalesce([
                Expr::col((line::Entity, line::Column::ProductId)),
                Expr::col((product::Entity, product::Column::Id)),
            ]),
            BOUGHT,
        )
        .from(sale::Entity)
        .join(
            JoinType::InnerJoin,
            line::Entity,
            Expr::col((line::Entity, line::Column::ConversionId))
                .equals((sale::Entity, sale::Column::Id)),
        )
        .join(
            JoinType::LeftJoin,
            product::Entity,
            Condition::all()
                .add(Expr::col((line::Entity, line::Column::ProductId)).is_null())
                .add(
                    Expr::col((product::Entity, product::Column::PartnerId))
                        .equals((sale::Entity, sale::Column::MerchantId)),
                )
                .add(
                    Expr::col((product::Entity, product::Column::Sku))
                        .equals((line::Entity, line::Column::Sku)),
                ),
        )
        .and_where(Expr::col((sale::Entity, sale::Column::MerchantId)).eq(merchant.0))
        .and_where(Expr::col((sale::Entity, sale::Column::CustomerRef)).eq(reference))
        .and_where(Expr::col((sale::Entity, sale::Column::OccurredAt)).gt(since))
        .and_where(Expr::col((sale::Entity, sale::Column::OccurredAt)).lte(now));
}

/// The products `reference` bought from the merchant, as [`add_purchases`] finds them, for
/// a customer the merchant has no profile of.
pub(crate) async fn purchases_since<C: ConnectionTrait>(
    db: &C,
    merchant: PartnerId,
    reference: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let mut query = Query::select();
    add_purchases(&mut query, merchant, reference, since, now);
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    let mut bought = Vec::with_capacity(rows.len());
    for row in &rows {
        bought.extend(row.try_get::<Option<Uuid>>("", BOUGHT)?);
    }
    Ok(bought)
}

/// The impressions of `reference` shown after `since`, for a customer the merchant has
/// no profile of: the caps count them all the same.
pub(crate) async fn impressions_since<C: ConnectionTrait>(
    db: &C,
    merchant: PartnerId,
    reference: &str,
    since: DateTime<Utc>,
) -> Result<Vec<ShownRow>, DbErr> {
    shown::Entity::find()
        .select_only()
        .columns([
            shown::Column::Id,
            shown::Column::SubjectId,
            shown::Column::OfferId,
        ])
        .filter(shown::COLUMN.merchant_id.eq(merchant.0))
        .filter(shown::COLUMN.customer_ref.eq(reference))
        .filter(shown::COLUMN.shown_at.gt(since))
        .into_tuple()
        .all(db)
        .await
}

/// The impression a joined row carries; `None` on the one row of a customer without any.
fn shown_row(row: &QueryResult) -> Result<Option<ShownRow>, DbErr> {
    let Some(id) = row.try_get::<Option<Uuid>>("", SHOWN_ID)? else {
        return Ok(None);
    };
    Ok(Some((
        id,
        row.try_get("", SHOWN_SUBJECT)?,
        row.try_get("", SHOWN_OFFER)?,
    )))
}
