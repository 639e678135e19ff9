//! Settlement runs: payable commissions and outstanding clawbacks grouped per
//! (payer, payee, currency) into statements, deterministically.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;
use crate::ids::PartnerId;
use crate::ledger::{
    EntryKind, EntryRef, JournalEntry, LedgerError, Position, State, pair, positions,
};
use crate::money::Currency;

/// Identifies a statement: at most one per period end, payer, payee and currency.
/// The store puts a unique constraint on these four columns, so two concurrent runs
/// of one period cannot both write a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatementKey {
    pub period_end: NaiveDate,
    pub payer: PartnerId,
    pub payee: PartnerId,
    pub currency: Currency,
}

impl fmt::Display for StatementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.period_end, self.payer, self.payee, self.currency
        )
    }
}

/// Whether a statement line pays a commission or takes one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Commission,
    Clawback,
}

/// An open amount of one commission: payable (positive) or clawed back (negative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementItem {
    pub kind: ItemKind,
    pub accrual_id: Uuid,
    pub payer: PartnerId,
    pub payee: PartnerId,
    pub currency: Currency,
    pub amount_minor: i64,
}

/// Settlement settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementPolicy {
    /// Per currency, the smallest net a statement pays, in minor units; a smaller net
    /// is carried forward. Currencies not listed have no minimum.
    pub minimum_payout_minor: BTreeMap<Currency, i64>,
}

/// One `minimum_payout` entry, `CODE` and amount, as the API and `cosell settle
/// --minimum-payout CODE=AMOUNT` take it: a known currency and an amount in it (not
/// negative, no finer than the currency, within [`crate::MAX_AMOUNT_MAJOR`]), in minor
/// units. One check, so the command line refuses what the API refuses.
pub fn parse_minimum_payout(
    code: &str,
    amount: rust_decimal::Decimal,
) -> Result<(Currency, i64), ValidationError> {
    let field = format!("minimum_payout.{code}");
    let currency = Currency::parse(code).map_err(|e| ValidationError::new(&field, e.message))?;
    let minor = currency.parse_amount(&field, amount)?;
    Ok((currency, minor))
}

/// A statement: what one payer pays one payee in one currency for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub key: StatementKey,
    /// Commissions first, then clawbacks, each by accrual id.
    pub lines: Vec<SettlementItem>,
    pub commission_minor: i64,
    pub clawback_minor: i64,
    pub net_minor: i64,
}

/// Why a group did not become a statement this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarryReason {
    BelowMinimum,
    /// Clawbacks exceed commissions: the payee owes, nothing is paid.
    NegativeNet,
}

/// A group left open for a later run; its items stay payable or clawed back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedForward {
    pub key: StatementKey,
    pub net_minor: i64,
    pub reason: CarryReason,
}

/// The result of a settlement run, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRun {
    pub statements: Vec<Statement>,
    pub carried_forward: Vec<CarriedForward>,
}

/// The period a run settles: the day `requested`, else the latest that has ended by `today`
/// (UTC, yesterday). A day that has not ended is refused: a run as of today or later would
/// release commissions whose hold has not passed, treat a refund still inside its hold as a
/// clawback, and close the period for the runs that should have settled those days.
pub fn period_to_settle(
    requested: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<NaiveDate, ValidationError> {
    let last_ended = today.pred_opt().unwrap_or(NaiveDate::MIN);
    match requested {
        None => Ok(last_ended),
        Some(as_of) if as_of < today => Ok(as_of),
        Some(as_of) => Err(ValidationError::new(
            "as_of",
            format!(
                "the period ending {as_of} has not ended yet (today is {today}, UTC); settle a \
                 day that has passed, {last_ended} at the latest"
            ),
        )),
    }
}

/// The open items of the ledger as of `as_of`: each commission's payable balance and
/// outstanding clawback, from the entries up to that instant, the payable balance never
/// more than is payable now ([`open_positions`]).
pub fn open_items<'a>(
    entries: impl IntoIterator<Item = &'a JournalEntry>,
    as_of: DateTime<Utc>,
) -> Vec<SettlementItem> {
    let entries: Vec<&JournalEntry> = entries.into_iter().collect();
    let dated = positions(entries.iter().copied().filter(|e| e.occurred_at() <= as_of));
    open_items_of(open_positions(dated, &positions(entries)))
}

/// What a run as of a date settles, from each commission's position in the entries dated
/// up to then (`dated`) and in all of them (`now`): the dated position, with a payable
/// balance no larger than the one now. A reversal recorded before the run but dated
/// after its period end (a refund today, when the run settles yesterday) took back
/// payable commission because nothing had paid it; paying the balance of the period end
/// would let the partner keep what the refund took back, and nothing would ever claw it
/// back. Later releases and clawbacks wait for the next run.
pub fn open_positions(
    mut dated: BTreeMap<Uuid, Position>,
    now: &BTreeMap<Uuid, Position>,
) -> BTreeMap<Uuid, Position> {
    for (id, p) in &mut dated {
        p.payable = p.payable.min(now.get(id).map_or(0, |n| n.payable));
    }
    dated
}

/// The open items of commissions at these positions: each one's payable balance and
/// outstanding clawback.
pub fn open_items_of(positions: BTreeMap<Uuid, Position>) -> Vec<SettlementItem> {
    let mut items = Vec::new();
    for (accrual_id, p) in positions {
        for (kind, amount_minor) in [
            (ItemKind::Commission, p.payable),
            (ItemKind::Clawback, p.clawback),
        ] {
            if amount_minor != 0 {
                items.push(SettlementItem {
                    kind,
                    accrual_id,
                    payer: p.payer,
                    payee: p.payee,
                    currency: p.currency,
                    amount_minor,
                });
            }
        }
    }
    items
}

/// Groups `items` into statements for the period ending `period_end`. The same items
/// in any order give the same run.
pub fn settle(
    period_end: NaiveDate,
    items: &[SettlementItem],
    policy: &SettlementPolicy,
) -> Result<SettlementRun, LedgerError> {
    let mut seen = BTreeSet::new();
    let mut groups: BTreeMap<StatementKey, Vec<SettlementItem>> = BTreeMap::new();
    for item in items {
        let sign_ok = match item.kind {
            ItemKind::Commission => item.amount_minor > 0,
            ItemKind::Clawback => item.amount_minor < 0,
        };
        if !sign_ok || !seen.insert((item.kind, item.accrual_id)) {
            return Err(LedgerError::Invalid(format!(
                "{:?} item of accrual {} is repeated or has the wrong sign",
                item.kind, item.accrual_id
            )));
        }
        let key = StatementKey {
            period_end,
            payer: item.payer,
            payee: item.payee,
            currency: item.currency,
        };
        groups.entry(key).or_default().push(item.clone());
    }
    let mut run = SettlementRun::default();
    for (key, mut lines) in groups {
        lines.sort_by_key(|l| (l.kind, l.accrual_id));
        let sum = |kind| -> Result<i64, LedgerError> {
            lines
                .iter()
                .filter(|l| l.kind == kind)
                .try_fold(0_i64, |acc, l| acc.checked_add(l.amount_minor))
                .ok_or(LedgerError::Overflow)
        };
        let (commission_minor, clawback_minor) =
            (sum(ItemKind::Commission)?, sum(ItemKind::Clawback)?);
        let net_minor = commission_minor
            .checked_add(clawback_minor)
            .ok_or(LedgerError::Overflow)?;
        let minimum = policy
            .minimum_payout_minor
            .get(&key.currency)
            .copied()
            .unwrap_or(0);
        let reason = if net_minor < 0 {
            Some(CarryReason::NegativeNet)
        } else if net_minor < minimum {
            Some(CarryReason::BelowMinimum)
        } else {
            None
        };
        match reason {
            Some(reason) => run.carried_forward.push(CarriedForward {
                key,
                net_minor,
                reason,
            }),
            None => run.statements.push(Statement {
                key,
                lines,
                commission_minor,
                clawback_minor,
                net_minor,
            }),
        }
    }
    Ok(run)
}

impl Statement {
    /// The entry settling this statement: every line's amount moves from payable
    /// (or clawback) to settled on both sides.
    pub fn journal_entry(&self, at: DateTime<Utc>) -> Result<JournalEntry, LedgerError> {
        settlement_entry(self.key, &self.lines, at)
    }

    /// [`Statement::journal_entry`] in parts of at most `part_lines` statement lines,
    /// each balanced on its own (every statement line's journal lines sum to zero), so
    /// a statement of a million lines is written without holding its whole entry in
    /// memory. The parts' lines, in order, are the whole entry's lines.
    pub fn journal_entry_parts(
        &self,
        at: DateTime<Utc>,
        part_lines: usize,
    ) -> impl Iterator<Item = Result<JournalEntry, LedgerError>> + '_ {
        self.lines
            .chunks(part_lines.max(1))
            .map(move |part| settlement_entry(self.key, part, at))
    }
}

fn settlement_entry(
    key: StatementKey,
    items: &[SettlementItem],
    at: DateTime<Utc>,
) -> Result<JournalEntry, LedgerError> {
    let lines = items
        .iter()
        .flat_map(|l| {
            let from = match l.kind {
                ItemKind::Commission => State::Payable,
                ItemKind::Clawback => State::Clawback,
            };
            let out = pair(
                l.accrual_id,
                l.payer,
                l.payee,
                l.currency,
                from,
                -l.amount_minor,
            );
            let into = pair(
                l.accrual_id,
                l.payer,
                l.payee,
                l.currency,
                State::Settled,
                l.amount_minor,
            );
            out.into_iter().chain(into)
        })
        .collect();
    JournalEntry::new(
        EntryKind::Settlement,
        EntryRef::Statement { key },
        at,
        lines,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ledger::{JournalLine, balances};
    use chrono::TimeZone;

    #[test]
    fn only_days_that_have_ended_are_settled() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let yesterday = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(period_to_settle(Some(yesterday), today), Ok(yesterday));
        assert_eq!(period_to_settle(None, today), Ok(yesterday));
        for as_of in [today, today.succ_opt().unwrap()] {
            let refused = period_to_settle(Some(as_of), today).unwrap_err();
            assert_eq!(refused.field, "as_of");
            assert!(
                refused.message.contains("2026-11-25 at the latest"),
                "{refused:?}"
            );
        }
    }

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn item(
        kind: ItemKind,
        accrual: u128,
        payee: u128,
        currency: &str,
        amount_minor: i64,
    ) -> SettlementItem {
        SettlementItem {
            kind,
            accrual_id: Uuid::from_u128(accrual),
            payer: PartnerId(Uuid::from_u128(1)),
            payee: PartnerId(Uuid::from_u128(payee)),
            currency: cur(currency),
            amount_minor,
        }
    }

    fn end() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
    }

    #[test]
    fn a_minimum_payout_is_a_known_currency_and_a_sane_amount() {
        use rust_decimal_macros::dec;
        assert_eq!(
            parse_minimum_payout("EUR", dec!(50)),
            Ok((cur("EUR"), 5_000))
        );
        for (code, amount) in [("EUR", dec!(-5)), ("EUR", dec!(0.001)), ("XXX", dec!(5))] {
            let e = parse_minimum_payout(code, amount).unwrap_err();
            assert_eq!(e.field, format!("minimum_payout.{code}"));
        }
    }

    #[test]
    fn groups_per_pair_and_currency_with_minimum_payout() {
        use ItemKind::*;
        let items = vec![
            item(Commission, 12, 2, "EUR", 1_500),
            item(Clawback, 11, 2, "EUR", -200),
            item(Commission, 10, 2, "EUR", 700),
            item(Commission, 13, 2, "JPY", 900),
            item(Commission, 14, 3, "EUR", 999),
            item(Clawback, 15, 4, "EUR", -50),
        ];
        let policy = SettlementPolicy {
            minimum_payout_minor: [(cur("EUR"), 1_000)].into(),
        };
        let run = settle(end(), &items, &policy).unwrap();
        let mut reversed = items.clone();
        reversed.reverse();
        assert_eq!(settle(end(), &reversed, &policy).unwrap(), run);

        let s: Vec<_> = run
            .statements
            .iter()
            .map(|s| (s.key.payee.0.as_u128(), s.key.currency.code(), s.net_minor))
            .collect();
        assert_eq!(s, vec![(2, "EUR", 2_000), (2, "JPY", 900)]);
        let order: Vec<_> = run.statements[0]
            .lines
            .iter()
            .map(|l| l.accrual_id.as_u128())
            .collect();
        assert_eq!(order, vec![10, 12, 11]);
        assert_eq!(
            (
                run.statements[0].commission_minor,
                run.statements[0].clawback_minor
            ),
            (2_200, -200)
        );
        let c: Vec<_> = run
            .carried_forward
            .iter()
            .map(|c| (c.key.payee.0.as_u128(), c.reason))
            .collect();
        assert_eq!(
            c,
            vec![
                (3, CarryReason::BelowMinimum),
                (4, CarryReason::NegativeNet)
            ]
        );
        assert_eq!(
            run.statements[0].key.to_string(),
            format!(
                "2026-03-31:{}:{}:EUR",
                Uuid::from_u128(1),
                Uuid::from_u128(2)
            )
        );
    }

    #[test]
    fn statement_entry_moves_lines_to_settled() {
        use ItemKind::*;
        let items = [
            item(Commission, 10, 2, "BHD", 1_234),
            item(Clawback, 11, 2, "BHD", -34),
        ];
        let run = settle(end(), &items, &SettlementPolicy::default()).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 23, 59, 59).unwrap();
        let e = run.statements[0].journal_entry(at).unwrap();
        let settled: i64 = balances([&e])
            .iter()
            .filter(|((a, _), _)| {
                a.state == State::Settled && a.side == crate::ledger::Side::Receivable
            })
            .map(|(_, b)| b)
            .sum();
        assert_eq!(settled, 1_200);
    }

    #[test]
    fn the_entry_in_parts_has_the_whole_entrys_lines_in_order() {
        use ItemKind::*;
        let items: Vec<_> = (0..7)
            .map(|n| {
                item(
                    Commission,
                    10 + n,
                    2,
                    "EUR",
                    100 + i64::try_from(n).unwrap(),
                )
            })
            .chain([item(Clawback, 30, 2, "EUR", -55)])
            .collect();
        let run = settle(end(), &items, &SettlementPolicy::default()).unwrap();
        let statement = &run.statements[0];
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 23, 59, 59).unwrap();
        let whole = statement.journal_entry(at).unwrap();
        let parts: Vec<JournalEntry> = statement
            .journal_entry_parts(at, 3)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parts.len(), 3);
        for part in &parts {
            assert_eq!(
                (part.kind(), part.reference(), part.occurred_at()),
                (whole.kind(), whole.reference(), whole.occurred_at())
            );
        }
        let joined: Vec<JournalLine> = parts.iter().flat_map(|p| p.lines().to_vec()).collect();
        assert_eq!(joined, whole.lines());
        assert_eq!(joined.len(), 4 * 8);
    }

    /// A refund recorded before the run but dated after its period end (today, when the
    /// run settles yesterday) reversed the payable commission: the run pays the rest,
    /// while a clawback dated after the period waits for the next run.
    #[test]
    fn a_later_reversal_counts_and_a_later_clawback_waits() {
        use crate::ledger::{Accrual, RefundProgress, accrue, positions, refund, release};
        let day = |d| Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap();
        let accrual = |id, at| Accrual {
            id: Uuid::from_u128(id),
            conversion_id: Uuid::from_u128(id + 100),
            payer: PartnerId(Uuid::from_u128(1)),
            payee: PartnerId(Uuid::from_u128(2)),
            currency: cur("EUR"),
            amount_minor: 1_000,
            accrued_at: at,
            payable_at: at + chrono::TimeDelta::days(14),
        };
        let half = |id| RefundProgress {
            refund_id: Uuid::from_u128(id),
            conversion_total_minor: 10_000,
            refunded_before_minor: 0,
            refunded_after_minor: 5_000,
        };
        let (unpaid, paid) = (accrual(10, day(1)), accrual(11, day(1)));
        let mut journal = Vec::new();
        for a in [&unpaid, &paid] {
            journal.push(accrue(a).unwrap().unwrap());
            let p = positions(&journal)[&a.id];
            journal.push(release(a, &p, a.payable_at).unwrap().unwrap());
        }
        let items = open_items(&journal, day(15));
        let first = settle(end(), &[items[1].clone()], &SettlementPolicy::default()).unwrap();
        journal.push(first.statements[0].journal_entry(day(15)).unwrap());
        // Both refunded by half on day 20: a reversal of the unpaid one, a clawback of the
        // paid one.
        for (a, r) in [(&unpaid, 20), (&paid, 21)] {
            let p = positions(&journal)[&a.id];
            journal.push(refund(a, &p, &half(r), day(20)).unwrap().unwrap());
        }
        // Released on day 24 by a run of a later period, then refunded by half: a run of
        // an earlier period has nothing of it to pay, not a negative balance.
        let late = accrual(12, day(10));
        journal.push(accrue(&late).unwrap().unwrap());
        let p = positions(&journal)[&late.id];
        journal.push(release(&late, &p, late.payable_at).unwrap().unwrap());
        let p = positions(&journal)[&late.id];
        journal.push(refund(&late, &p, &half(22), day(25)).unwrap().unwrap());
        let amounts = |at| -> Vec<(u128, i64)> {
            open_items(&journal, at)
                .iter()
                .map(|i| (i.accrual_id.as_u128(), i.amount_minor))
                .collect()
        };
        assert_eq!(amounts(day(18)), vec![(10, 500)]);
        assert_eq!(amounts(day(21)), vec![(10, 500), (11, -500)]);
        assert_eq!(amounts(day(25)), vec![(10, 500), (11, -500), (12, 500)]);
    }

    #[test]
    fn repeated_or_mis_signed_items_are_refused() {
        use ItemKind::*;
        let twice = [
            item(Commission, 10, 2, "EUR", 1),
            item(Commission, 10, 2, "EUR", 1),
        ];
        assert!(settle(end(), &twice, &SettlementPolicy::default()).is_err());
        let positive_clawback = [item(Clawback, 10, 2, "EUR", 1)];
        assert!(settle(end(), &positive_clawback, &SettlementPolicy::default()).is_err());
    }
}
