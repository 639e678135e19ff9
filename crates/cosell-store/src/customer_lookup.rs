//! A customer's profile and the impressions the contact cap counts, read in one statement:
//! on SQLite every statement is a round trip to a connection's own thread, and on the
//! known-customer recommendation path those hand-offs (two wake-ups each, on busy cores)
//! cost more than the queries themselves.

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, JoinType, Query};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, QueryFilter, QueryResult,
    QuerySelect,
};
use uuid::Uuid;

use crate::entities::{customer, recommendation_impression as shown};

/// An impression the cap counts: its id, what it showed, and the offer it came through.
pub(crate) type ShownRow = (Uuid, Uuid, Option<Uuid>);

const SHOWN_ID: &str = "shown_id";
const SHOWN_SUBJECT: &str = "shown_subject_id";
const SHOWN_OFFER: &str = "shown_offer_id";

/// The merchant's profile of `reference` with that customer's impressions shown after
/// `since`, or `None` when the merchant has no such profile.
pub(crate) async fn customer_with_impressions_since<C: ConnectionTrait>(
    db: &C,
    merchant: PartnerId,
    reference: &str,
    since: DateTime<Utc>,
) -> Result<Option<(customer::Model, Vec<ShownRow>)>, DbErr> {
    let mut query = Query::select();
    query
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
                .add(Expr::col((shown::Entity, shown::Column::ShownAt)).gt(since)),
        )
        .and_where(Expr::col((customer::Entity, customer::Column::MerchantId)).eq(merchant.0))
        .and_where(Expr::col((customer::Entity, customer::Column::Reference)).eq(reference));
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    // (merchant_id, reference) is unique: every row holds the same profile.
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let profile = customer::Model::from_query_result(first, "")?;
    let impressions = rows
        .iter()
        .filter_map(|row| shown_row(row).transpose())
        .collect::<Result<_, _>>()?;
    Ok(Some((profile, impressions)))
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
