//! The double-entry, append-only commission ledger: accounts, journal entries whose
//! lines sum to zero per currency, and balances folded from them.

mod postings;
#[cfg(test)]
mod proptests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use postings::{
    Accrual, Position, RefundProgress, accrue, positions, positions_of_lines, refund, release,
    supersede,
};

use crate::ids::PartnerId;
use crate::money::Currency;
use crate::settlement::StatementKey;

/// Which party an account belongs to: the referrer's receivable or the merchant's payable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Commission receivable by the referrer (`owner`) from the merchant (`counterparty`).
    Receivable,
    /// Commission payable by the merchant (`owner`) to the referrer (`counterparty`).
    Payable,
}

/// Where a commission is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Accrued at attribution, still inside the hold period.
    Pending,
    /// Hold period over: goes into the next statement.
    Payable,
    /// Paid through a statement.
    Settled,
    /// Taken back after settlement by a refund: a negative line of the next statement.
    Clawback,
}

/// A ledger account: one side of one partner pair, in one state. Its currency is on
/// each line, so a pair has one account per state and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    pub side: Side,
    pub state: State,
    pub owner: PartnerId,
    pub counterparty: PartnerId,
}

/// One line of a journal entry. Positive is a debit, negative a credit; every line
/// belongs to one accrued commission, so each commission's balances are traceable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    pub account: Account,
    pub currency: Currency,
    pub accrual_id: Uuid,
    pub amount_minor: i64,
}

/// What a journal entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Accrual,
    Release,
    Reversal,
    Clawback,
    Settlement,
    /// Withdrawal of a commission whose attribution was superseded.
    Supersession,
}

/// What caused a journal entry: the store's idempotency key for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EntryRef {
    /// Accrual or release of one commission.
    Accrual { accrual_id: Uuid },
    /// Reversal or clawback of one commission by one refund.
    Refund { accrual_id: Uuid, refund_id: Uuid },
    /// Withdrawal of one commission because attribution `attribution_id` replaced
    /// the result it came from.
    Supersession {
        accrual_id: Uuid,
        attribution_id: Uuid,
    },
    /// Settlement of one statement.
    Statement { key: StatementKey },
}

/// Why a posting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least two non-zero lines")]
    TooFewLines,
    #[error(
        "line {0} breaks the pairs: every receivable line is followed by the payable line of \
         the same commission, state and currency with the opposite amount"
    )]
    Unpaired(usize),
    #[error("amount out of range")]
    Overflow,
    #[error("{0}")]
    Invalid(String),
}

/// A balanced journal entry. Built only through [`JournalEntry::new`] (and checked
/// the same way when deserialised), so an unbalanced entry cannot exist. Its lines are
/// pairs (see [`pair`]), which is what balances it; the store keeps one row per pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedEntry")]
pub struct JournalEntry {
    kind: EntryKind,
    reference: EntryRef,
    occurred_at: DateTime<Utc>,
    lines: Vec<JournalLine>,
}

#[derive(Deserialize)]
struct UncheckedEntry {
    kind: EntryKind,
    reference: EntryRef,
    occurred_at: DateTime<Utc>,
    lines: Vec<JournalLine>,
}

impl TryFrom<UncheckedEntry> for JournalEntry {
    type Error = LedgerError;
    fn try_from(e: UncheckedEntry) -> Result<Self, Self::Error> {
        JournalEntry::new(e.kind, e.reference, e.occurred_at, e.lines)
    }
}

impl JournalEntry {
    /// An entry of non-zero lines in mirror pairs, so they sum to zero in each currency:
    /// each receivable line followed by the merchant's payable line of the same
    /// commission, state and currency with the opposite amount. Zero lines are dropped
    /// first because they record nothing.
    pub fn new(
        kind: EntryKind,
        reference: EntryRef,
        occurred_at: DateTime<Utc>,
        lines: Vec<JournalLine>,
    ) -> Result<Self, LedgerError> {
        let lines: Vec<JournalLine> = lines.into_iter().filter(|l| l.amount_minor != 0).collect();
        if lines.len() < 2 {
            return Err(LedgerError::TooFewLines);
        }
        for (n, two) in lines.chunks(2).enumerate() {
            let [receivable, payable] = two else {
                return Err(LedgerError::Unpaired(2 * n));
            };
            if receivable.account.side != Side::Receivable {
                return Err(LedgerError::Unpaired(2 * n));
            }
            if *payable != mirror(receivable)? {
                return Err(LedgerError::Unpaired(2 * n + 1));
            }
        }
        Ok(JournalEntry {
            kind,
            reference,
            occurred_at,
            lines,
        })
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    pub fn reference(&self) -> &EntryRef {
        &self.reference
    }

    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    pub fn lines(&self) -> &[JournalLine] {
        &self.lines
    }

    /// The receivable line of each pair, in order: the whole entry, since each payable
    /// line is its pair's mirror.
    pub fn pairs(&self) -> impl Iterator<Item = &JournalLine> {
        self.lines.iter().step_by(2)
    }
}

/// The balance of every account and currency touched by `entries`.
pub fn balances<'a>(
    entries: impl IntoIterator<Item = &'a JournalEntry>,
) -> BTreeMap<(Account, Currency), i64> {
    let mut out = BTreeMap::new();
    for line in entries.into_iter().flat_map(|e| e.lines()) {
        *out.entry((line.account, line.currency)).or_default() += line.amount_minor;
    }
    out
}

/// The payable line that pairs with the receivable line `r`.
fn mirror(r: &JournalLine) -> Result<JournalLine, LedgerError> {
    Ok(JournalLine {
        account: Account {
            side: Side::Payable,
            owner: r.account.counterparty,
            counterparty: r.account.owner,
            ..r.account
        },
        amount_minor: r.amount_minor.checked_neg().ok_or(LedgerError::Overflow)?,
        ..r.clone()
    })
}

/// The two lines that move `amount` onto both sides of a commission in `state`:
/// a debit of the referrer's receivable and a credit of the merchant's payable.
pub fn pair(
    accrual_id: Uuid,
    payer: PartnerId,
    payee: PartnerId,
    currency: Currency,
    state: State,
    amount_minor: i64,
) -> [JournalLine; 2] {
    let line = |side, owner, counterparty, amount_minor| JournalLine {
        account: Account {
            side,
            state,
            owner,
            counterparty,
        },
        currency,
        accrual_id,
        amount_minor,
    };
    [
        line(Side::Receivable, payee, payer, amount_minor),
        line(Side::Payable, payer, payee, -amount_minor),
    ]
}
