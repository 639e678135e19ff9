//! The journal as stored: entries keyed by (kind, reference) so every posting is safe to
//! retry, one row per pair of lines (the receivable line; its payable mirror is implied,
//! see `entities::journal_pair`), and commissions' positions summed from those rows by
//! the database and folded by `cosell_core::ledger`.

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

/// The pair rows of `e` under entry `id`, numbered from `first`.
fn pair_rows(
    e: &JournalEntry,
    id: Uuid,
    first: usize,
) -> impl Iterator<Item = journal_pair::ActiveModel> + '_ {
    e.pairs()
        .enumerate()
        .map(move |(n, l)| journal_pair::ActiveModel {
            entry_id: Set(id),
            pair_no: Set(i32::try_from(first + n).unwrap_or(i32::MAX)),
            state: Set(state_str(l.account.state).to_owned()),
            payer_id: Set(l.account.counterparty.0),
            payee_id: Set(l.account.owner.0),
            currency: Set(l.currency.code().to_owned()),
            accrual_id: Set(l.accrual_id),
            amount_minor: Set(l.amount_minor),
            occurred_at: Set(e.occurred_at()),
        })
}

/// The rows of `entries`: one per entry and one per pair of lines.
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
/// the previous part's, exactly the rows of the whole entry. Only one part is in
/// memory at a time.
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
        written += pairs.len();
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
    total: i64,
    dated: i64,
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

/// The receivable lines of `accruals`' pairs summed per account, and with `upto` the
/// same sums of the pairs dated up to then (empty without).
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
            .columns([P::AccrualId, P::PayerId, P::PayeeId, P::Currency, P::State])
            .column_as(total.clone(), "total")
            .column_as(dated.clone(), "dated")
            .filter(journal_pair::COLUMN.accrual_id.is_in(chunk.iter().copied()))
            .group_by(P::AccrualId)
            .group_by(P::PayerId)
            .group_by(P::PayeeId)
            .group_by(P::Currency)
            .group_by(P::State)
            .into_model::<SummedPairs>()
            .all(db)
            .await?
        {
            let line = JournalLine {
                account: Account {
                    side: Side::Receivable,
                    state: parse_state(&row.state)?,
                    owner: row.payee_id.into(),
                    counterparty: row.payer_id.into(),
                },
                currency: currency(TABLE, &row.currency)?,
                accrual_id: row.accrual_id,
                amount_minor: row.total,
            };
            if upto.is_some() {
                up_to.push(JournalLine {
                    amount_minor: row.dated,
                    ..line.clone()
                });
            }
            all.push(line);
        }
    }
    Ok((all, up_to))
}
