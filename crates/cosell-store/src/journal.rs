//! The journal as stored: entries keyed by (kind, reference) so every posting is safe to
//! retry, one row per pair of lines (the receivable line; its payable mirror is implied)
//! or per transfer of two pairs (see `entities::journal_pair`), and commissions'
//! positions summed from those rows by the database and folded by `cosell_core::ledger`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cosell_core::ledger::{
    Account, EntryKind, EntryRef, JournalEntry, JournalLine, Position, Side, State,
    positions_of_lines,
};
use cosell_core::settlement::open_positions;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, ExprTrait, FromQueryResult, QueryFilter,
    QuerySelect, SqlErr,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entities::{journal_entry, journal_pair};
use crate::money::currency;

const TABLE: &str = "journal_entries";

/// How many ids one `IN (…)` list carries.
pub(crate) const IN_CHUNK: usize = 5_000;

pub(crate) use crate::bulk::insert_all;

pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub(crate) fn kind_str(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Accrual => "accrual",
        EntryKind::Release => "release",
        EntryKind::Reversal => "reversal",
        EntryKind::Clawback => "clawback",
        EntryKind::Settlement => "settlement",
        EntryKind::Supersession => "supersession",
    }
}

pub(crate) fn state_str(state: State) -> &'static str {
    match state {
        State::Pending => "pending",
        State::Payable => "payable",
        State::Settled => "settled",
        State::Clawback => "clawback",
    }
}

fn parse_state(s: &str) -> Result<State, StoreError> {
    use State::*;
    [Pending, Payable, Settled, Clawback]
        .into_iter()
        .find(|k| state_str(*k) == s)
        .ok_or_else(|| StoreError::corrupt(TABLE, format!("state {s}")))
}

/// The accrual an entry is about, for entries of one commission (not settlements).
fn entry_accrual(reference: &EntryRef) -> Option<Uuid> {
    match reference {
        EntryRef::Accrual { accrual_id }
        | EntryRef::Refund { accrual_id, .. }
        | EntryRef::Supersession { accrual_id, .. } => Some(*accrual_id),
        EntryRef::Statement { .. } => None,
    }
}

/// The head row of entry `e` under `id`.
fn head_row(e: &JournalEntry, id: Uuid) -> Result<journal_entry::ActiveModel, StoreError> {
    // The reference's JSON is deterministic, so it is the idempotency key as is.
    let reference =
        serde_json::to_string(e.reference()).map_err(|err| StoreError::corrupt(TABLE, err))?;
    Ok(journal_entry::ActiveModel {
        id: Set(id),
        kind: Set(kind_str(e.kind()).to_owned()),
        reference: Set(reference),
        accrual_id: Set(entry_accrual(e.reference())),
        occurred_at: Set(e.occurred_at()),
    })
}

/// Whether pair `a` and the pair `b` after it are one transfer: the same commission,
/// partners and currency, `b` putting into its state what `a` takes out of another.
fn is_transfer(a: &JournalLine, b: &JournalLine) -> bool {
    a.accrual_id == b.accrual_id
        && a.account.owner == b.account.owner
        && a.account.counterparty == b.account.counterparty
        && a.currency == b.currency
        && a.account.state != b.account.state
        && a.amount_minor.checked_neg() == Some(b.amount_minor)
}

/// The rows of `e`'s pairs under entry `id`, the pairs numbered from `first`: one row per
/// transfer (a release, a statement line's settlement) and one per other pair.
fn pair_rows(
    e: &JournalEntry,
    id: Uuid,
    first: usize,
) -> impl Iterator<Item = journal_pair::ActiveModel> + '_ {
    let mut pairs = e.pairs().peekable();
    let mut n = first;
    std::iter::from_fn(move || {
        let line = pairs.next()?;
        let (into, from) = match pairs.next_if(|next| is_transfer(line, next)) {
            Some(into) => (into, Some(state_str(line.account.state).to_owned())),
            None => (line, None),
        };
        let pair_no = n;
        n += if from.is_some() { 2 } else { 1 };
        Some(journal_pair::ActiveModel {
            entry_id: Set(id),
            pair_no: Set(i32::try_from(pair_no).unwrap_or(i32::MAX)),
            state: Set(state_str(into.account.state).to_owned()),
            from_state: Set(from),
            payer_id: Set(into.account.counterparty.0),
            payee_id: Set(into.account.owner.0),
            currency: Set(into.currency.code().to_owned()),
            accrual_id: Set(into.accrual_id),
            amount_minor: Set(into.amount_minor),
            occurred_at: Set(e.occurred_at()),
        })
    })
}

/// The rows of `entries`: one per entry and one per pair of lines or transfer.
pub(crate) fn rows(
    entries: &[JournalEntry],
) -> Result<
    (
        Vec<journal_entry::ActiveModel>,
        Vec<journal_pair::ActiveModel>,
    ),
    StoreError,
> {
    let mut heads = Vec::with_capacity(entries.len());
    let mut pairs = Vec::with_capacity(entries.len());
    for e in entries {
        let id = Uuid::now_v7();
        heads.push(head_row(e, id)?);
        pairs.extend(pair_rows(e, id, 0));
    }
    Ok((heads, pairs))
}

/// Writes one entry that comes in parts, each balanced on its own and of the same
/// kind, reference and time (a statement's settlement entry, see
/// `Statement::journal_entry_parts`): one head, and each part's pairs numbered on from
/// the previous part's, exactly the rows of the whole entry (a part ends between
/// statement lines, so never inside a transfer). Only one part is in memory at a time.
pub(crate) async fn insert_entry_parts<C: ConnectionTrait>(
    db: &C,
    parts: impl Iterator<Item = Result<JournalEntry, StoreError>>,
) -> Result<(), StoreError> {
    let id = Uuid::now_v7();
    let mut written = 0;
    for part in parts {
        let part = part?;
        if written == 0 {
            insert_all(db, vec![head_row(&part, id)?]).await?;
        }
        let pairs: Vec<_> = pair_rows(&part, id, written).collect();
        written += part.pairs().count();
        insert_all(db, pairs).await?;
    }
    Ok(())
}

/// Writes the rows of `entries` on `db` (inside the caller's transaction).
pub(crate) async fn insert_entries<C: ConnectionTrait>(
    db: &C,
    entries: &[JournalEntry],
) -> Result<(), StoreError> {
    let (heads, pairs) = rows(entries)?;
    insert_all(db, heads).await?;
    insert_all(db, pairs).await?;
    Ok(())
}

/// One commission's summed pairs in one state: all of them, and those dated up to a
/// settlement run's end.
#[derive(FromQueryResult)]
struct SummedPairs {
    accrual_id: Uuid,
    payer_id: Uuid,
    payee_id: Uuid,
    currency: String,
    state: String,
    /// Set for transfers: the state the summed amount left.
    from_state: Option<String>,
    total: i64,
    dated: i64,
}

impl SummedPairs {
    /// The receivable lines these rows sum to, each with the sign a summed amount takes
    /// on it: their total into `state` (+1) and, for transfers, out of `from_state` (−1).
    fn lines(&self) -> Result<impl Iterator<Item = (i64, JournalLine)>, StoreError> {
        let into = JournalLine {
            account: Account {
                side: Side::Receivable,
                state: parse_state(&self.state)?,
                owner: self.payee_id.into(),
                counterparty: self.payer_id.into(),
            },
            currency: currency(TABLE, &self.currency)?,
            accrual_id: self.accrual_id,
            amount_minor: self.total,
        };
        let out_of = match &self.from_state {
            Some(from) => Some(JournalLine {
                account: Account {
                    state: parse_state(from)?,
                    ..into.account
                },
                amount_minor: -self.total,
                ..into.clone()
            }),
            None => None,
        };
        Ok(std::iter::once((1, into)).chain(out_of.map(|line| (-1, line))))
    }
}

/// The positions of `accruals` from their pairs' receivable lines, summed per account by the
/// database: what `ledger::positions` gives over the commissions' whole entries, without
/// reading every line and entry back. A settlement run reads them with [`RunLines`].
pub(crate) async fn positions_of<C: ConnectionTrait>(
    db: &C,
    accruals: &[Uuid],
) -> Result<BTreeMap<Uuid, Position>, StoreError> {
    Ok(positions_of_lines(
        &summed_lines(db, accruals, None).await?.0,
    ))
}

/// Commissions' summed lines as a settlement run as of `upto` reads them: all of them,
/// and those dated up to then. The run adds the entries it posts on them
/// ([`RunLines::post`]) and reads their open positions afterwards without asking the
/// database again.
pub(crate) struct RunLines {
    upto: DateTime<Utc>,
    all: Vec<JournalLine>,
    dated: Vec<JournalLine>,
}

impl RunLines {
    pub(crate) async fn read<C: ConnectionTrait>(
        db: &C,
        accruals: &[Uuid],
        upto: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let (all, dated) = summed_lines(db, accruals, Some(upto)).await?;
        Ok(RunLines { upto, all, dated })
    }

    /// The positions of the commissions over all their lines.
    pub(crate) fn positions(&self) -> BTreeMap<Uuid, Position> {
        positions_of_lines(&self.all)
    }

    /// Adds the lines of `entry`, just written, as the database would now sum them.
    pub(crate) fn post(&mut self, entry: &JournalEntry) {
        self.all.extend(entry.pairs().cloned());
        if entry.occurred_at() <= self.upto {
            self.dated.extend(entry.pairs().cloned());
        }
    }

    /// What the run settles of these commissions: `cosell_core::settlement::open_positions`
    /// of the lines dated up to the run's end and of all of them.
    pub(crate) fn open_positions(&self) -> BTreeMap<Uuid, Position> {
        open_positions(positions_of_lines(&self.dated), &self.positions())
    }
}

/// The receivable lines of `accruals`' pairs summed per account (a transfer's amount
/// counted into one state and out of the other), and with `upto` the same sums of the
/// pairs dated up to then (empty without).
async fn summed_lines<C: ConnectionTrait>(
    db: &C,
    accruals: &[Uuid],
    upto: Option<DateTime<Utc>>,
) -> Result<(Vec<JournalLine>, Vec<JournalLine>), StoreError> {
    use journal_pair::Column as P;
    // PostgreSQL sums BIGINT as NUMERIC, which does not decode as i64.
    let total = Expr::col(P::AmountMinor).sum().cast_as("BIGINT");
    let dated = match upto {
        Some(at) => {
            let amount = Expr::case(
                journal_pair::COLUMN.occurred_at.lte(at),
                Expr::col(P::AmountMinor),
            )
            .finally(0);
            Func::sum(amount).cast_as("BIGINT")
        }
        // Not read: only a run's positions need the dated sums.
        None => Expr::val(0_i64).cast_as("BIGINT"),
    };
    let (mut all, mut up_to) = (Vec::new(), Vec::new());
    for chunk in accruals.chunks(IN_CHUNK) {
        for row in journal_pair::Entity::find()
            .select_only()
            .columns([
                P::AccrualId,
                P::PayerId,
                P::PayeeId,
                P::Currency,
                P::State,
                P::FromState,
            ])
            .column_as(total.clone(), "total")
            .column_as(dated.clone(), "dated")
            .filter(journal_pair::COLUMN.accrual_id.is_in(chunk.iter().copied()))
            .group_by(P::AccrualId)
            .group_by(P::PayerId)
            .group_by(P::PayeeId)
            .group_by(P::Currency)
            .group_by(P::State)
            .group_by(P::FromState)
            .into_model::<SummedPairs>()
            .all(db)
            .await?
        {
            for (sign, line) in row.lines()? {
                if upto.is_some() {
                    up_to.push(JournalLine {
                        amount_minor: sign * row.dated,
                        ..line.clone()
                    });
                }
                all.push(line);
            }
        }
    }
    Ok((all, up_to))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use cosell_core::ledger::{EntryRef, pair};
    use cosell_core::money::Currency;
    use proptest::prelude::*;
    use sea_orm::ActiveValue;

    use super::*;

    fn set<T: Clone + Into<sea_orm::Value>>(v: &ActiveValue<T>) -> T {
        v.clone().unwrap()
    }

    /// The pairs a row stands for, numbered: what `journal_lines` shows of it.
    fn pairs_of(row: &journal_pair::ActiveModel) -> Vec<(i32, State, i64, Uuid)> {
        let (n, amount, accrual) = (
            set(&row.pair_no),
            set(&row.amount_minor),
            set(&row.accrual_id),
        );
        let into = parse_state(&set(&row.state)).unwrap();
        match set(&row.from_state) {
            Some(from) => vec![
                (n, parse_state(&from).unwrap(), -amount, accrual),
                (n + 1, into, amount, accrual),
            ],
            None => vec![(n, into, amount, accrual)],
        }
    }

    fn line(accrual: u128, state: State, amount: i64) -> [JournalLine; 2] {
        let (payer, payee) = (Uuid::from_u128(2).into(), Uuid::from_u128(1).into());
        let eur = Currency::parse("EUR").unwrap();
        pair(Uuid::from_u128(accrual), payer, payee, eur, state, amount)
    }

    fn state() -> impl Strategy<Value = State> {
        prop_oneof![
            Just(State::Pending),
            Just(State::Payable),
            Just(State::Settled),
            Just(State::Clawback),
        ]
    }

    proptest! {
        /// Whatever the pairs (transfers of one commission, pairs that only look like
        /// one, lone pairs), the rows stand for exactly the entry's pairs, in order and
        /// at their numbers, and a transfer takes one row.
        #[test]
        fn rows_stand_for_exactly_the_entrys_pairs(
            pairs in prop::collection::vec(
                (0_u128..3, state(), state(), -5_i64..5, any::<bool>()),
                1..12,
            ),
            first in 0_usize..3,
        ) {
            let mut lines = Vec::new();
            let mut transfers = 0;
            for (accrual, from, into, amount, moved) in pairs {
                let amount = if amount == 0 { 7 } else { amount };
                lines.extend(line(accrual, from, -amount));
                if moved {
                    lines.extend(line(accrual, into, amount));
                    transfers += usize::from(from != into);
                }
            }
            let at = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
            let reference = EntryRef::Accrual { accrual_id: Uuid::from_u128(9) };
            let entry = JournalEntry::new(EntryKind::Release, reference, at, lines).unwrap();
            let rows: Vec<_> = pair_rows(&entry, Uuid::from_u128(5), first).collect();
            let stood_for: Vec<_> = rows.iter().flat_map(pairs_of).collect();
            let expected: Vec<_> = entry
                .pairs()
                .enumerate()
                .map(|(n, l)| {
                    let n = i32::try_from(first + n).unwrap();
                    (n, l.account.state, l.amount_minor, l.accrual_id)
                })
                .collect();
            prop_assert_eq!(stood_for, expected);
            // Adjacent look-alikes may chain differently, so at least the built ones merge.
            prop_assert!(rows.len() <= entry.pairs().count() - transfers);
        }
    }
}
