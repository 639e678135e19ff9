//! The life of one commission as journal entries: accrual (pending), release
//! (payable), reversal by a refund before settlement, clawback after it.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EntryKind, EntryRef, JournalEntry, JournalLine, LedgerError, Side, State, pair};
use crate::ids::PartnerId;
use crate::money::Currency;

/// A commission accrued to `payee` (the referrer), owed by `payer` (the merchant),
/// for one attributed conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accrual {
    pub id: Uuid,
    pub conversion_id: Uuid,
    pub payer: PartnerId,
    pub payee: PartnerId,
    pub currency: Currency,
    pub amount_minor: i64,
    pub accrued_at: DateTime<Utc>,
    /// End of the hold period: the earliest release.
    pub payable_at: DateTime<Utc>,
}

impl Accrual {
    /// The payable date for a commission accrued at `accrued_at` under a `hold` period.
    pub fn payable_at(accrued_at: DateTime<Utc>, hold: TimeDelta) -> DateTime<Utc> {
        accrued_at + hold
    }

    fn check(&self) -> Result<(), LedgerError> {
        if self.amount_minor < 0 {
            return Err(LedgerError::Invalid(
                "commission must not be negative".into(),
            ));
        }
        if self.payer == self.payee {
            return Err(LedgerError::Invalid("payer and payee must differ".into()));
        }
        if self.payable_at < self.accrued_at {
            return Err(LedgerError::Invalid("payable before accrued".into()));
        }
        Ok(())
    }

    /// The part of the commission undone by refunding `refunded` of `total`, rounded
    /// half to even. Computed on the running total so a full refund undoes exactly
    /// the whole commission, whatever the partial refunds before it.
    fn share(&self, refunded: i64, total: i64) -> Result<i64, LedgerError> {
        let n = i128::from(self.amount_minor) * i128::from(refunded);
        let d = i128::from(total);
        let (q, r) = (n / d, n % d);
        let q = if 2 * r > d || (2 * r == d && q % 2 == 1) {
            q + 1
        } else {
            q
        };
        i64::try_from(q).map_err(|_| LedgerError::Overflow)
    }
}

/// A refund of a conversion: the running refunded total before and after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundProgress {
    pub refund_id: Uuid,
    pub conversion_total_minor: i64,
    pub refunded_before_minor: i64,
    pub refunded_after_minor: i64,
}

/// One commission's receivable balances per state, folded from the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub payer: PartnerId,
    pub payee: PartnerId,
    pub currency: Currency,
    pub pending: i64,
    pub payable: i64,
    pub settled: i64,
    pub clawback: i64,
}

impl Position {
    /// The state a refund now acts on: a commission moves whole from pending to
    /// payable to settled, so at most one of the first two is non-zero.
    pub fn state(&self) -> State {
        if self.pending != 0 {
            State::Pending
        } else if self.payable != 0 {
            State::Payable
        } else {
            State::Settled
        }
    }

    /// Everything still owed to the referrer for this commission.
    pub fn net(&self) -> i64 {
        self.pending + self.payable + self.settled + self.clawback
    }
}

/// Each commission's position, from the receivable lines of `entries`.
pub fn positions<'a>(
    entries: impl IntoIterator<Item = &'a JournalEntry>,
) -> BTreeMap<Uuid, Position> {
    positions_of_lines(entries.into_iter().flat_map(|e| e.lines()))
}

/// [`positions`] from lines alone. Lines of one commission and account may come summed
/// (a database's `SUM … GROUP BY`): a position depends only on each account's total.
pub fn positions_of_lines<'a>(
    lines: impl IntoIterator<Item = &'a JournalLine>,
) -> BTreeMap<Uuid, Position> {
    let mut out: BTreeMap<Uuid, Position> = BTreeMap::new();
    for line in lines {
        if line.account.side != Side::Receivable {
            continue;
        }
        let p = out.entry(line.accrual_id).or_insert(Position {
            payer: line.account.counterparty,
            payee: line.account.owner,
            currency: line.currency,
            pending: 0,
            payable: 0,
            settled: 0,
            clawback: 0,
        });
        let balance = match line.account.state {
            State::Pending => &mut p.pending,
            State::Payable => &mut p.payable,
            State::Settled => &mut p.settled,
            State::Clawback => &mut p.clawback,
        };
        *balance += line.amount_minor;
    }
    out
}

/// The entry accruing `a` as pending; `None` for a zero commission.
pub fn accrue(a: &Accrual) -> Result<Option<JournalEntry>, LedgerError> {
    a.check()?;
    entry(
        a,
        EntryKind::Accrual,
        EntryRef::Accrual { accrual_id: a.id },
        a.accrued_at,
        &[(State::Pending, a.amount_minor)],
    )
}

/// The entry moving what is still pending of `a` to payable, once its hold period
/// is over at `at`; `None` if nothing is pending (e.g. refunded in full).
pub fn release(
    a: &Accrual,
    position: &Position,
    at: DateTime<Utc>,
) -> Result<Option<JournalEntry>, LedgerError> {
    a.check()?;
    if at < a.payable_at {
        return Err(LedgerError::Invalid(format!(
            "hold period runs until {}",
            a.payable_at
        )));
    }
    let moved = position.pending;
    entry(
        a,
        EntryKind::Release,
        EntryRef::Accrual { accrual_id: a.id },
        at,
        &[(State::Pending, -moved), (State::Payable, moved)],
    )
}

/// The entry a refund makes on `a`, in proportion to the refunded share of the
/// conversion: a reversal of the pending or payable commission, or a clawback once it
/// is settled. `None` when the proportional change rounds to zero.
pub fn refund(
    a: &Accrual,
    position: &Position,
    progress: &RefundProgress,
    at: DateTime<Utc>,
) -> Result<Option<JournalEntry>, LedgerError> {
    a.check()?;
    let RefundProgress {
        refund_id,
        conversion_total_minor: total,
        refunded_before_minor: before,
        refunded_after_minor: after,
    } = *progress;
    if total <= 0 || before < 0 || before > after || after > total {
        return Err(LedgerError::Invalid(format!(
            "refund from {before} to {after} of {total} is not possible"
        )));
    }
    let undo = a.share(after, total)? - a.share(before, total)?;
    let reference = EntryRef::Refund {
        accrual_id: a.id,
        refund_id,
    };
    match position.state() {
        state @ (State::Pending | State::Payable) => {
            entry(a, EntryKind::Reversal, reference, at, &[(state, -undo)])
        }
        _ => entry(
            a,
            EntryKind::Clawback,
            reference,
            at,
            &[(State::Clawback, -undo)],
        ),
    }
}

/// The entry withdrawing what remains of `a` after a re-attribution replaced the
/// result it came from (`attribution_id` is the new result): pending and payable
/// balances are reversed, a settled balance is clawed back. Afterwards `a` nets to
/// zero and the new result's commissions are accrued as new accruals.
pub fn supersede(
    a: &Accrual,
    position: &Position,
    attribution_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<JournalEntry>, LedgerError> {
    a.check()?;
    let reference = EntryRef::Supersession {
        accrual_id: a.id,
        attribution_id,
    };
    entry(
        a,
        EntryKind::Supersession,
        reference,
        at,
        &[
            (State::Pending, -position.pending),
            (State::Payable, -position.payable),
            (State::Clawback, -(position.settled + position.clawback)),
        ],
    )
}

/// An entry of pairs on `a`'s accounts, or `None` when every amount is zero.
fn entry(
    a: &Accrual,
    kind: EntryKind,
    reference: EntryRef,
    at: DateTime<Utc>,
    moves: &[(State, i64)],
) -> Result<Option<JournalEntry>, LedgerError> {
    if moves.iter().all(|(_, m)| *m == 0) {
        return Ok(None);
    }
    let lines = moves
        .iter()
        .flat_map(|(state, m)| pair(a.id, a.payer, a.payee, a.currency, *state, *m))
        .collect();
    JournalEntry::new(kind, reference, at, lines).map(Some)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ledger::balances;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 0, 0, 0).unwrap()
    }

    fn accrual(amount_minor: i64) -> Accrual {
        Accrual {
            id: Uuid::from_u128(7),
            conversion_id: Uuid::from_u128(8),
            payer: PartnerId(Uuid::from_u128(1)),
            payee: PartnerId(Uuid::from_u128(2)),
            currency: Currency::parse("EUR").unwrap(),
            amount_minor,
            accrued_at: at(1),
            payable_at: Accrual::payable_at(at(1), TimeDelta::days(14)),
        }
    }

    fn progress(before: i64, after: i64) -> RefundProgress {
        RefundProgress {
            refund_id: Uuid::from_u128(after.unsigned_abs().into()),
            conversion_total_minor: 10_000,
            refunded_before_minor: before,
            refunded_after_minor: after,
        }
    }

    fn position(entries: &[JournalEntry]) -> Position {
        positions(entries)[&Uuid::from_u128(7)]
    }

    #[test]
    fn pending_then_partly_reversed_then_payable() {
        let a = accrual(1_001);
        let mut journal = vec![accrue(&a).unwrap().unwrap()];
        assert_eq!(position(&journal).state(), State::Pending);
        // A third of the sale refunded: 1001/3 = 333.67 → 334 reversed.
        journal.push(
            refund(&a, &position(&journal), &progress(0, 3_333), at(5))
                .unwrap()
                .unwrap(),
        );
        assert!(release(&a, &position(&journal), at(14)).is_err());
        journal.push(release(&a, &position(&journal), at(15)).unwrap().unwrap());
        let p = position(&journal);
        assert_eq!((p.pending, p.payable), (0, 667));
        // The rest refunded: everything reversed, nothing left anywhere.
        journal.push(
            refund(&a, &p, &progress(3_333, 10_000), at(16))
                .unwrap()
                .unwrap(),
        );
        assert_eq!(position(&journal).net(), 0);
        assert!(balances(&journal).values().all(|b| *b == 0));
        assert_eq!(journal[1].kind(), EntryKind::Reversal);
    }

    #[test]
    fn refund_after_settlement_is_a_clawback() {
        let a = accrual(500);
        let mut p = position(&[accrue(&a).unwrap().unwrap()]);
        (p.pending, p.settled) = (0, 500);
        let e = refund(&a, &p, &progress(0, 5_000), at(20))
            .unwrap()
            .unwrap();
        assert_eq!(e.kind(), EntryKind::Clawback);
        let b = balances([&e]);
        let recv = b
            .iter()
            .find(|((acc, _), _)| acc.side == Side::Receivable)
            .unwrap();
        assert_eq!((recv.0.0.state, *recv.1), (State::Clawback, -250));
    }

    #[test]
    fn superseding_withdraws_whatever_state_the_commission_is_in() {
        let a = accrual(900);
        let new_result = Uuid::from_u128(99);
        let mut journal = vec![accrue(&a).unwrap().unwrap()];
        let e = supersede(&a, &position(&journal), new_result, at(3))
            .unwrap()
            .unwrap();
        journal.push(e);
        assert_eq!(position(&journal).net(), 0);
        // Settled and partly clawed back: the rest is clawed back.
        let mut p = position(&journal[..1]);
        (p.pending, p.settled, p.clawback) = (0, 900, -300);
        let e = supersede(&a, &p, new_result, at(28)).unwrap().unwrap();
        let recv: Vec<_> = e
            .lines()
            .iter()
            .filter(|l| l.account.side == Side::Receivable)
            .map(|l| (l.account.state, l.amount_minor))
            .collect();
        assert_eq!(recv, vec![(State::Clawback, -600)]);
    }

    #[test]
    fn zero_and_impossible_refunds() {
        let a = accrual(1);
        let p = position(&[accrue(&a).unwrap().unwrap()]);
        // 1 cent × 1/10000 rounds to nothing.
        assert_eq!(refund(&a, &p, &progress(0, 1), at(2)).unwrap(), None);
        assert!(refund(&a, &p, &progress(5, 4), at(2)).is_err());
        assert!(refund(&a, &p, &progress(0, 10_001), at(2)).is_err());
        assert_eq!(accrue(&accrual(0)).unwrap(), None);
    }

    #[test]
    fn unbalanced_or_unpaired_entries_cannot_be_built() {
        let a = accrual(100);
        let lines = pair(a.id, a.payer, a.payee, a.currency, State::Pending, 100).to_vec();
        let build = |lines: Vec<JournalLine>| {
            JournalEntry::new(
                EntryKind::Accrual,
                EntryRef::Accrual { accrual_id: a.id },
                at(1),
                lines,
            )
        };
        let mut unbalanced = lines.clone();
        unbalanced[1].amount_minor = -99;
        assert_eq!(build(unbalanced), Err(LedgerError::Unpaired(1)));
        // Balanced, but the payable line comes first, or a state's pair is split.
        let swapped = vec![lines[1].clone(), lines[0].clone()];
        assert_eq!(build(swapped), Err(LedgerError::Unpaired(0)));
        let mut split = lines.clone();
        split.extend(pair(a.id, a.payer, a.payee, a.currency, State::Payable, 5));
        split.swap(1, 3);
        assert_eq!(build(split), Err(LedgerError::Unpaired(1)));
        let mut odd = lines.clone();
        odd.push(lines[0].clone());
        assert_eq!(build(odd), Err(LedgerError::Unpaired(2)));

        let e = build(lines).unwrap();
        let pairs: Vec<_> = e
            .pairs()
            .map(|l| (l.account.side, l.amount_minor))
            .collect();
        assert_eq!(pairs, vec![(Side::Receivable, 100)]);
        let json = serde_json::to_string(&accrue(&a).unwrap().unwrap()).unwrap();
        let tampered = json.replace("-100", "-99");
        assert!(serde_json::from_str::<JournalEntry>(&tampered).is_err());
        assert!(serde_json::from_str::<JournalEntry>(&json).is_ok());
    }
}
