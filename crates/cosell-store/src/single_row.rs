//! Reading the one row a unique key or an aggregate selects, without sea-orm's `LIMIT ?`.
//!
//! `.one()` binds its `LIMIT 1` as a parameter. SQLite lets a bound integer LIMIT steer the
//! query plan, so it marks such a statement to be prepared again whenever that parameter is
//! bound, and sqlx binds every parameter on every execution: each `.one()` was parsed and
//! planned anew on every call (`perf` on the known-customer recommendation path: the
//! customer lookup prepared once per request, a fifth of the SQLite threads' time). Where
//! at most one row can match, reading all of them gives the same answer from a statement
//! prepared once per connection.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Select, Selector, SelectorTrait};

pub(crate) trait AtMostOneRow {
    type Row;

    /// The row, if any; only for queries that cannot match two.
    async fn at_most_one_row<C: ConnectionTrait>(self, db: &C) -> Result<Option<Self::Row>, DbErr>;
}

impl<E: EntityTrait> AtMostOneRow for Select<E> {
    type Row = E::Model;

    async fn at_most_one_row<C: ConnectionTrait>(self, db: &C) -> Result<Option<E::Model>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}

impl<S: SelectorTrait> AtMostOneRow for Selector<S> {
    type Row = S::Item;

    async fn at_most_one_row<C: ConnectionTrait>(self, db: &C) -> Result<Option<S::Item>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}
