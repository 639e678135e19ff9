//! Settlement runs and statements. A run as of a date first releases every commission
//! whose hold period ended by then (entries dated at that moment, so re-running gives
//! the same entries), then gathers the open items (those of the commissions it just
//! released from the release, which summed their positions already) and lets
//! `cosell_core::settlement` group them. A run's statements, lines and settlement
//! entries are written in one transaction together with the run's numbered row in
//! `settlement_runs`: two runs that gathered the same items, whatever their period ends,
//! cannot both commit, and the one that loses gathers again from the ledger as the
//! winner left it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use cosell_core::PartnerId;
use cosell_core::ledger::release;
use cosell_core::settlement::{
    CarriedForward, ItemKind, SettlementItem, SettlementPolicy, Statement, StatementKey,
    open_items_of, settle,
};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, TransactionTrait,
};
use uuid::Uuid;

use crate::attribution::accrual_of;
use crate::entities::{
    attribution_credit, attribution_result, journal_entry, refund as refund_row, settlement_run,
    statement, statement_line,
};
use crate::journal::{
    IN_CHUNK, RunLines, insert_all, insert_entries, insert_entry_parts, is_unique_violation,
    kind_str,
};
use crate::ledger_guard;
use crate::money::currency;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError, Tenant};

const TABLE: &str = "statements";

/// Credits handled per round trip of a run.
const PAGE: u64 = 20_000;

/// Statement lines written per part (with their settlement entry's lines), unless the
/// store says otherwise (`Store::with_settlement_part_lines`).
pub(crate) const PART_LINES: usize = 10_000;

/// How often a run gathers its items again after other runs finished first.
const ATTEMPTS: usize = 3;

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub kind: ItemKind,
    pub accrual_id: Uuid,
    pub conversion_id: Option<Uuid>,
    pub amount_minor: i64,
}

/// A stored statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    pub id: Uuid,
    pub key: StatementKey,
    pub commission_minor: i64,
    pub clawback_minor: i64,
    pub net_minor: i64,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub paid_reference: Option<String>,
    pub lines: Vec<StatementLine>,
}

/// What a run's release did.
#[derive(Debug, Default)]
struct Released {
    /// Commissions moved from pending to payable.
    count: usize,
    /// The open items, as of the run, of the commissions it looked at to release.
    items: Vec<SettlementItem>,
    /// Those commissions, sorted.
    commissions: Vec<Uuid>,
}

/// What a run did, without the period's statements (see [`Store::settle_period`]).
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub period_end: NaiveDate,
    /// Commissions moved from pending to payable by this run.
    pub released: usize,
    /// Statements this run wrote (0 when the period was settled already).
    pub created: usize,
    pub carried_forward: Vec<CarriedForward>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct SettlementOutcome {
    pub period_end: NaiveDate,
    /// Commissions moved from pending to payable by this run.
    pub released: usize,
    /// Statements this run wrote (0 when the period was settled already).
    pub created: usize,
    /// Every statement of the period, whichever run wrote it.
    pub statements: Vec<StatementRecord>,
    pub carried_forward: Vec<CarriedForward>,
}

/// A run's statements, gathered and grouped but not yet written
/// ([`Store::gather_settlement`], then [`Store::write_settlement`]).
#[derive(Debug)]
pub struct GatheredRun {
    /// The number this run will take, unless another run takes it first.
    seq: i64,
    as_of: NaiveDate,
    /// The ledger guard's version before the run released and gathered anything: a
    /// refund or re-attribution with a later version came while the run gathered.
    ledger_version: i64,
    /// Commissions this attempt moved from pending to payable.
    pub released: usize,
    statements: Vec<Statement>,
    pub carried_forward: Vec<CarriedForward>,
}

/// Whether a refund or re-attribution recorded after ledger version `since` touched a
/// commission that `statements` pay or claw back.
async fn changed_since<C: ConnectionTrait>(
    txn: &C,
    since: i64,
    statements: &[Statement],
) -> Result<bool, StoreError> {
    let mut conversions: Vec<Uuid> = refund_row::Entity::find()
        .select_only()
        .column(refund_row::Column::ConversionId)
        .filter(refund_row::COLUMN.ledger_version.gt(since))
        .into_tuple()
        .all(txn)
        .await?;
    conversions.extend(
        attribution_result::Entity::find()
            .select_only()
            .column(attribution_result::Column::ConversionId)
            .filter(attribution_result::COLUMN.ledger_version.gt(since))
            .into_tuple::<Uuid>()
            .all(txn)
            .await?,
    );
    let mut touched = BTreeSet::new();
    for chunk in conversions.chunks(IN_CHUNK) {
        let ids: Vec<Uuid> = attribution_credit::Entity::find()
            .select_only()
            .column(attribution_credit::Column::Id)
            .filter(
                attribution_credit::COLUMN
                    .conversion_id
                    .is_in(chunk.iter().copied()),
            )
            .into_tuple()
            .all(txn)
            .await?;
        touched.extend(ids);
    }
    Ok(statements
        .iter()
        .flat_map(|s| &s.lines)
        .any(|line| touched.contains(&line.accrual_id)))
}

/// The next `PAGE` credits matching `condition` after the id `after`, in id order.
fn credit_page_query(
    condition: &Condition,
    after: Option<Uuid>,
) -> Select<attribution_credit::Entity> {
    let query = attribution_credit::Entity::find()
        .filter(condition.clone())
        .order_by_asc(attribution_credit::COLUMN.id)
        .limit(PAGE);
    match after {
        Some(last) => query.filter(attribution_credit::COLUMN.id.gt(last)),
        None => query,
    }
}

/// The last instant of `date` (UTC): a run as of a date includes the whole day.
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc() + chrono::TimeDelta::days(1)
        - chrono::TimeDelta::microseconds(1)
}

/// Credits with a ledger entry of one of `kinds`.
fn has_entry(kinds: &[cosell_core::ledger::EntryKind]) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(journal_entry::Entity)
            .and_where(
                Expr::col((journal_entry::Entity, journal_entry::Column::AccrualId))
                    .equals((attribution_credit::Entity, attribution_credit::Column::Id)),
            )
            .and_where(
                Expr::col((journal_entry::Entity, journal_entry::Column::Kind))
                    .is_in(kinds.iter().map(|k| kind_str(*k))),
            )
            .to_owned(),
    )
}

/// Credits whose commission went into a statement as a commission line.
fn commission_settled() -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(statement_line::Entity)
            .and_where(
                Expr::col((statement_line::Entity, statement_line::Column::AccrualId))
                    .equals((attribution_credit::Entity, attribution_credit::Column::Id)),
            )
            .and_where(
                Expr::col((statement_line::Entity, statement_line::Column::Kind))
                    .eq(item_str(ItemKind::Commission)),
            )
            .to_owned(),
    )
}

fn statement_row(id: Uuid, s: &Statement) -> statement::ActiveModel {
    statement::ActiveModel {
        id: Set(id),
        period_end: Set(s.key.period_end),
        payer_id: Set(s.key.payer.0),
        payee_id: Set(s.key.payee.0),
        currency: Set(s.key.currency.code().to_owned()),
        commission_minor: Set(s.commission_minor),
        clawback_minor: Set(s.clawback_minor),
        net_minor: Set(s.net_minor),
        created_at: Set(Utc::now()),
        paid_at: Set(None),
        paid_reference: Set(None),
    }
}

/// Writes a statement's lines and its settlement entry part by part, so a statement of
/// a million lines never has all its rows (five per line) in memory at once.
async fn write_lines<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    s: &Statement,
    at: DateTime<Utc>,
    part_lines: usize,
) -> Result<(), StoreError> {
    for (p, part) in s.lines.chunks(part_lines).enumerate() {
        let first = p * part_lines;
        let rows = part
            .iter()
            .enumerate()
            .map(|(n, l)| statement_line::ActiveModel {
                statement_id: Set(id),
                line_no: Set(i32::try_from(first + n).unwrap_or(i32::MAX)),
                kind: Set(item_str(l.kind).to_owned()),
                accrual_id: Set(l.accrual_id),
                amount_minor: Set(l.amount_minor),
            })
            .collect();
        insert_all(db, rows).await?;
    }
    let parts = s
        .journal_entry_parts(at, part_lines)
        .map(|e| e.map_err(|e| StoreError::conflict("ledger", e.to_string())));
    insert_entry_parts(db, parts).await
}

fn item_str(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Commission => "commission",
        ItemKind::Clawback => "clawback",
    }
}

impl Store {
    /// Settles every (payer, payee, currency) as of the end of `as_of`.
    ///
    /// Refuses a period earlier than the latest run's (`period_closed`); the same period
    /// again is a re-run. A run that another run overtook while it gathered its items
    /// starts over from the ledger as that run left it, a few times at most.
    pub async fn run_settlement(
        &self,
        as_of: NaiveDate,
        policy: &SettlementPolicy,
    ) -> Result<SettlementOutcome, StoreError> {
        let run = self.settle_period(as_of, policy).await?;
        Ok(SettlementOutcome {
            statements: self.list_statements(Tenant::All, Some(as_of)).await?,
            period_end: run.period_end,
            released: run.released,
            created: run.created,
            carried_forward: run.carried_forward,
        })
    }

    /// [`Store::run_settlement`] without reading the period's statements back: a run of
    /// a million commissions has a million statement lines.
    pub async fn settle_period(
        &self,
        as_of: NaiveDate,
        policy: &SettlementPolicy,
    ) -> Result<RunSummary, StoreError> {
        let mut released = 0;
        for _ in 0..ATTEMPTS {
            let run = self.gather_settlement(as_of, policy).await?;
            released += run.released;
            if let Some(created) = self.write_settlement(&run).await? {
                return Ok(RunSummary {
                    period_end: as_of,
                    released,
                    created,
                    carried_forward: run.carried_forward,
                });
            }
        }
        Err(StoreError::conflict(
            "settlement_busy",
            "other settlement runs, or refunds and re-attributions of the commissions it was \
             paying, kept coming while this one ran; run it again",
        ))
    }

    /// The first half of a run: reads the latest run's number and the ledger guard's
    /// version, releases what is due, gathers the open items and groups them into
    /// statements. Nothing of the statements is written: [`Store::write_settlement`].
    pub async fn gather_settlement(
        &self,
        as_of: NaiveDate,
        policy: &SettlementPolicy,
    ) -> Result<GatheredRun, StoreError> {
        // Read before the items: a run that finishes after this read takes our number,
        // and a refund or re-attribution recorded after it has a later version.
        let ledger_version = ledger_guard::version(self.db()).await?;
        let latest = settlement_run::Entity::find()
            .order_by_desc(settlement_run::COLUMN.seq)
            .one(self.db())
            .await?;
        if let Some(last) = latest.as_ref().filter(|l| as_of < l.period_end) {
            return Err(StoreError::conflict(
                "period_closed",
                format!(
                    "settlement ran as of {} already; a run as of {as_of} would settle an \
                     earlier period after a later one. Run as of {} or later",
                    last.period_end, last.period_end
                ),
            ));
        }
        let seq = latest.map_or(1, |l| l.seq + 1);
        let at = end_of_day(as_of);
        let Released {
            count: released,
            mut items,
            commissions,
        } = self.release_due(at).await?;
        items.extend(self.open_items_at(at, &commissions).await?);
        let run = settle(as_of, &items, policy)
            .map_err(|e| StoreError::conflict("ledger", e.to_string()))?;
        // The statements hold the items now; a large run should not keep both.
        drop(items);
        Ok(GatheredRun {
            seq,
            as_of,
            ledger_version,
            released,
            statements: run.statements,
            carried_forward: run.carried_forward,
        })
    }

    /// Posts the release of every commission whose hold ended by `at`, and answers the
    /// open items of those commissions as of `at` with the releases posted: their
    /// positions were summed to release them, so the gathering need not sum them again.
    async fn release_due(&self, at: DateTime<Utc>) -> Result<Released, StoreError> {
        use cosell_core::ledger::EntryKind::{Release, Supersession};
        let due = Condition::all()
            .add(attribution_credit::COLUMN.payable_at.lte(at))
            .add(attribution_credit::COLUMN.commission_minor.gt(0))
            .add(has_entry(&[Release, Supersession]).not());
        let mut released = Released::default();
        let mut after = None;
        loop {
            let page = credit_page_query(&due, after).all(self.db()).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let ids: Vec<Uuid> = page.iter().map(|c| c.id).collect();
            // Read and post on one turn of the ledger guard: a refund committed between
            // the two would reverse pending commission this entry also releases.
            let txn = self.db().begin().await?;
            ledger_guard::settlement_turn(&txn).await?;
            let mut lines = RunLines::read(&txn, &ids, at).await?;
            let held = lines.positions();
            let mut entries = Vec::new();
            for credit in &page {
                let accrual = accrual_of(credit)?;
                if let Some(p) = held.get(&credit.id) {
                    // Dated at the end of the hold, so every run writes the same entry.
                    entries.extend(
                        release(&accrual, p, accrual.payable_at)
                            .map_err(|e| StoreError::conflict("ledger", e.to_string()))?,
                    );
                }
            }
            // A concurrent run's release of the same commission took its turn first and
            // left nothing pending here, so no entry repeats (the (kind, reference) key
            // would refuse one).
            insert_entries(&txn, &entries).await?;
            txn.commit().await?;
            released.count += entries.len();
            for e in &entries {
                lines.post(e);
            }
            released.items.extend(open_items_of(lines.open_positions()));
            released.commissions.extend(ids);
        }
        // Pages come in id order already; sorted here so the lookups do not rely on
        // how the database orders UUIDs.
        released.commissions.sort_unstable();
        Ok(released)
    }

    /// The payable commissions and outstanding clawbacks as of `at`, but for the
    /// commissions in `known` (sorted), whose items the caller has.
    async fn open_items_at(
        &self,
        at: DateTime<Utc>,
        known: &[Uuid],
    ) -> Result<Vec<SettlementItem>, StoreError> {
        use cosell_core::ledger::EntryKind::{Clawback, Supersession};
        let open = Condition::any()
            .add(
                Condition::all()
                    .add(attribution_credit::COLUMN.payable_at.lte(at))
                    .add(commission_settled().not()),
            )
            .add(has_entry(&[Clawback, Supersession]));
        let mut items: Vec<SettlementItem> = Vec::new();
        let mut after = None;
        loop {
            // Ids only: the positions come from the journal.
            let ids: Vec<Uuid> = credit_page_query(&open, after)
                .select_only()
                .column(attribution_credit::Column::Id)
                .into_tuple()
                .all(self.db())
                .await?;
            let Some(last) = ids.last() else { break };
            after = Some(*last);
            let unknown: Vec<Uuid> = ids
                .into_iter()
                .filter(|id| known.binary_search(id).is_err())
                .collect();
            items.extend(open_items_of(
                RunLines::read(self.db(), &unknown, at)
                    .await?
                    .open_positions(),
            ));
        }
        Ok(items)
    }

    /// The second half of a run: writes run `seq` and its statements, with their lines
    /// and settlement entries, in one transaction, or nothing (`None`) when the run must
    /// gather again. The ledger guard's turn goes first: a refund or re-attribution
    /// recorded since the run gathered that touched a commission it pays may have
    /// withdrawn part of it. Then the run's row: of two runs that read the same latest
    /// number, the second waits for the first and then fails on the key (so do the
    /// statement and commission-line keys, should anything slip past it). Groups whose
    /// statement a run of the same period wrote already are skipped; their items stay
    /// open for the next period.
    pub async fn write_settlement(&self, run: &GatheredRun) -> Result<Option<usize>, StoreError> {
        let (seq, as_of, statements) = (run.seq, run.as_of, &run.statements);
        let txn = self.db().begin().await?;
        // The turn first: no refund or re-attribution commits from here to our commit, and
        // those that did since the run gathered are visible now.
        let version = ledger_guard::settlement_turn(&txn).await?;
        if version != run.ledger_version
            && changed_since(&txn, run.ledger_version, statements).await?
        {
            txn.rollback().await?;
            return Ok(None);
        }
        let written = async {
            settlement_run::Entity::insert(settlement_run::ActiveModel {
                seq: Set(seq),
                period_end: Set(as_of),
                ran_at: Set(Utc::now()),
            })
            .exec_without_returning(&txn)
            .await?;
            let existing: BTreeSet<(Uuid, Uuid, String)> = statement::Entity::find()
                .filter(statement::COLUMN.period_end.eq(as_of))
                .all(&txn)
                .await?
                .into_iter()
                .map(|s| (s.payer_id, s.payee_id, s.currency))
                .collect();
            let at = end_of_day(as_of);
            let fresh: Vec<(Uuid, &Statement)> = statements
                .iter()
                .filter(|s| {
                    let key = (
                        s.key.payer.0,
                        s.key.payee.0,
                        s.key.currency.code().to_owned(),
                    );
                    !existing.contains(&key)
                })
                .map(|s| (Uuid::now_v7(), s))
                .collect();
            let created = fresh.len();
            insert_all(
                &txn,
                fresh.iter().map(|(id, s)| statement_row(*id, s)).collect(),
            )
            .await?;
            for (id, s) in fresh {
                write_lines(&txn, id, s, at, self.settlement_part_lines).await?;
            }
            Ok::<_, StoreError>(created)
        }
        .await;
        match written {
            Ok(created) => match txn.commit().await {
                Ok(()) => Ok(Some(created)),
                Err(e) if is_unique_violation(&e) => Ok(None),
                Err(e) => Err(e.into()),
            },
            Err(StoreError::Db(e)) if is_unique_violation(&e) => {
                txn.rollback().await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Statements `tenant` pays or receives (operators: all), optionally of one period
    /// end, oldest first, with their lines.
    pub async fn list_statements(
        &self,
        tenant: Tenant,
        period_end: Option<NaiveDate>,
    ) -> Result<Vec<StatementRecord>, StoreError> {
        let heads = self.statement_heads(tenant, period_end).await?;
        self.with_lines(heads).await
    }

    /// [`Store::list_statements`] without their lines (`lines` is empty).
    pub async fn list_statement_totals(
        &self,
        tenant: Tenant,
        period_end: Option<NaiveDate>,
    ) -> Result<Vec<StatementRecord>, StoreError> {
        self.statement_heads(tenant, period_end)
            .await?
            .into_iter()
            .map(|h| record(h, Vec::new()))
            .collect()
    }

    async fn statement_heads(
        &self,
        tenant: Tenant,
        period_end: Option<NaiveDate>,
    ) -> Result<Vec<statement::Model>, StoreError> {
        let mut query = statement::Entity::find().order_by_asc(statement::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(
                Condition::any()
                    .add(statement::COLUMN.payer_id.eq(own.0))
                    .add(statement::COLUMN.payee_id.eq(own.0)),
            );
        }
        if let Some(end) = period_end {
            query = query.filter(statement::COLUMN.period_end.eq(end));
        }
        Ok(query.all(self.db()).await?)
    }

    /// One statement `tenant` pays or receives.
    pub async fn get_statement(
        &self,
        tenant: Tenant,
        id: Uuid,
    ) -> Result<StatementRecord, StoreError> {
        let head = statement::Entity::find_by_id(id)
            .at_most_one_row(self.db())
            .await?
            .filter(|s| tenant.sees(s.payer_id.into()) || tenant.sees(s.payee_id.into()))
            .ok_or(StoreError::NotFound("statement"))?;
        let mut all = self.with_lines(vec![head]).await?;
        all.pop().ok_or(StoreError::NotFound("statement"))
    }

    /// Marks a statement paid with the payment's external reference. Only its payer
    /// (or an operator) may; a paid statement never changes again.
    pub async fn mark_statement_paid(
        &self,
        tenant: Tenant,
        id: Uuid,
        reference: String,
    ) -> Result<StatementRecord, StoreError> {
        let s = self.get_statement(tenant, id).await?;
        if !tenant.sees(s.key.payer) {
            return Err(StoreError::Forbidden(
                "only the payer marks a statement paid".into(),
            ));
        }
        let done = statement::Entity::update_many()
            .set(statement::ActiveModel {
                paid_at: Set(Some(Utc::now())),
                paid_reference: Set(Some(reference)),
                ..Default::default()
            })
            .filter(statement::COLUMN.id.eq(id))
            .filter(statement::COLUMN.paid_at.is_null())
            .exec(self.db())
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::conflict(
                "already_paid",
                "the statement is paid already",
            ));
        }
        self.get_statement(tenant, id).await
    }

    async fn with_lines(
        &self,
        heads: Vec<statement::Model>,
    ) -> Result<Vec<StatementRecord>, StoreError> {
        let ids: Vec<Uuid> = heads.iter().map(|h| h.id).collect();
        let mut lines: BTreeMap<Uuid, Vec<statement_line::Model>> = BTreeMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            for l in statement_line::Entity::find()
                .filter(
                    statement_line::COLUMN
                        .statement_id
                        .is_in(chunk.iter().copied()),
                )
                .all(self.db())
                .await?
            {
                lines.entry(l.statement_id).or_default().push(l);
            }
        }
        let accruals: Vec<Uuid> = lines.values().flatten().map(|l| l.accrual_id).collect();
        let mut conversion_of: BTreeMap<Uuid, Uuid> = BTreeMap::new();
        for chunk in accruals.chunks(IN_CHUNK) {
            for c in attribution_credit::Entity::find()
                .filter(attribution_credit::COLUMN.id.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                conversion_of.insert(c.id, c.conversion_id);
            }
        }
        heads
            .into_iter()
            .map(|h| {
                let mut own = lines.remove(&h.id).unwrap_or_default();
                own.sort_by_key(|l| l.line_no);
                let lines = own
                    .into_iter()
                    .map(|l| {
                        let kind = match l.kind.as_str() {
                            "commission" => ItemKind::Commission,
                            "clawback" => ItemKind::Clawback,
                            other => return Err(StoreError::corrupt(TABLE, other)),
                        };
                        Ok(StatementLine {
                            kind,
                            accrual_id: l.accrual_id,
                            conversion_id: conversion_of.get(&l.accrual_id).copied(),
                            amount_minor: l.amount_minor,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?;
                record(h, lines)
            })
            .collect()
    }
}

/// A stored statement with `lines`.
fn record(h: statement::Model, lines: Vec<StatementLine>) -> Result<StatementRecord, StoreError> {
    Ok(StatementRecord {
        id: h.id,
        key: StatementKey {
            period_end: h.period_end,
            payer: PartnerId(h.payer_id),
            payee: PartnerId(h.payee_id),
            currency: currency(TABLE, &h.currency)?,
        },
        commission_minor: h.commission_minor,
        clawback_minor: h.clawback_minor,
        net_minor: h.net_minor,
        created_at: h.created_at,
        paid_at: h.paid_at,
        paid_reference: h.paid_reference,
        lines,
    })
}
