//! Customer journeys, the training data of attribution plugins' `fit`: for each
//! customer touched in a window, the partners that touched it in order and whether it
//! converted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entities::{conversion, touchpoint};
use crate::journal::IN_CHUNK;
use crate::{Store, StoreError};

/// One customer's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    /// Partners in touch order; a partner touching twice in a row appears once.
    pub partners: Vec<PartnerId>,
    /// Whether the customer converted in the window, at or after its first touch.
    pub converted: bool,
}

impl Store {
    /// The journeys of the customers touched in `[since, until)`, by customer
    /// reference, from their touchpoints not recorded from bots. At most `max`
    /// customers, those touched most recently, so the journeys of a busy window stay
    /// within what a plugin call can carry.
    pub async fn journeys(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        max: u64,
    ) -> Result<Vec<Journey>, StoreError> {
        let in_window = |q: sea_orm::Select<touchpoint::Entity>| {
            q.filter(touchpoint::COLUMN.bot.eq(false))
                .filter(touchpoint::COLUMN.customer_ref.is_not_null())
                .filter(touchpoint::COLUMN.occurred_at.gte(since))
                .filter(touchpoint::COLUMN.occurred_at.lt(until))
        };
        let customers: Vec<Option<String>> = in_window(touchpoint::Entity::find())
            .select_only()
            .column(touchpoint::Column::CustomerRef)
            .group_by(touchpoint::Column::CustomerRef)
            .order_by(Expr::col(touchpoint::Column::OccurredAt).max(), Order::Desc)
            .order_by_asc(touchpoint::Column::CustomerRef)
            .limit(max)
            .into_tuple()
            .all(self.db())
            .await?;
        let customers: Vec<String> = customers.into_iter().flatten().collect();
        // Per customer: (time, touchpoint id, partner), sorted below.
        let mut touches: BTreeMap<String, Vec<(DateTime<Utc>, Uuid, Uuid)>> = BTreeMap::new();
        let mut conversions: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
        for chunk in customers.chunks(IN_CHUNK) {
            let rows: Vec<(Uuid, Uuid, Option<String>, DateTime<Utc>)> =
                in_window(touchpoint::Entity::find())
                    .select_only()
                    .column(touchpoint::Column::Id)
                    .column(touchpoint::Column::PartnerId)
                    .column(touchpoint::Column::CustomerRef)
                    .column(touchpoint::Column::OccurredAt)
                    .filter(touchpoint::COLUMN.customer_ref.is_in(chunk.iter().cloned()))
                    .into_tuple()
                    .all(self.db())
                    .await?;
            for (id, partner, customer, at) in rows {
                if let Some(customer) = customer {
                    touches.entry(customer).or_default().push((at, id, partner));
                }
            }
            let sales: Vec<(String, DateTime<Utc>)> = conversion::Entity::find()
                .select_only()
                .column(conversion::Column::CustomerRef)
                .column(conversion::Column::OccurredAt)
                .filter(conversion::COLUMN.customer_ref.is_in(chunk.iter().cloned()))
                .filter(conversion::COLUMN.occurred_at.gte(since))
                .filter(conversion::COLUMN.occurred_at.lt(until))
                .into_tuple()
                .all(self.db())
                .await?;
            for (customer, at) in sales {
                conversions.entry(customer).or_default().push(at);
            }
        }
        Ok(touches
            .into_iter()
            .map(|(customer, mut path)| {
                path.sort_unstable();
                let first = path.first().map(|(at, _, _)| *at);
                let converted = conversions
                    .get(&customer)
                    .is_some_and(|sales| sales.iter().any(|at| Some(*at) >= first));
                let mut partners: Vec<PartnerId> = Vec::with_capacity(path.len());
                for (_, _, partner) in path {
                    if partners.last() != Some(&PartnerId(partner)) {
                        partners.push(PartnerId(partner));
                    }
                }
                Journey {
                    partners,
                    converted,
                }
            })
            .collect())
    }
}
