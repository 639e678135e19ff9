//! Property tests over any sequence of conversions, refunds, releases and settlement
//! runs: the ledger stays balanced and a full refund leaves every partner at zero.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::ids::PartnerId;
use crate::settlement::{SettlementPolicy, open_items, settle};

#[derive(Debug, Clone)]
enum Op {
    Convert {
        payer: u8,
        payee: u8,
        currency: u8,
        total: i64,
        rate_pct: i64,
    },
    Refund {
        which: usize,
        per_mille: i64,
    },
    Advance {
        days: i64,
    },
    Settle {
        minimum: i64,
    },
    /// Re-attribution: the commission is withdrawn and a new one accrued.
    Reattribute {
        which: usize,
        rate_pct: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), 0_i64..=100)
            .prop_map(|(which, rate_pct)| Op::Reattribute { which, rate_pct }),
        (0_u8..3, 0_u8..3, 0_u8..3, 1_i64..10_000_000, 0_i64..=100).prop_map(
            |(payer, payee, currency, total, rate_pct)| Op::Convert {
                payer,
                payee,
                currency,
                total,
                rate_pct
            }
        ),
        (any::<usize>(), 1_i64..=1000)
            .prop_map(|(which, per_mille)| Op::Refund { which, per_mille }),
        (1_i64..20).prop_map(|days| Op::Advance { days }),
        (0_i64..5_000).prop_map(|minimum| Op::Settle { minimum }),
    ]
}

struct Sale {
    accrual: Accrual,
    total: i64,
    refunded: i64,
}

struct World {
    now: DateTime<Utc>,
    sales: Vec<Sale>,
    journal: Vec<JournalEntry>,
    refunds: u128,
    accruals: u128,
}

impl World {
    fn refund(&mut self, which: usize, amount: i64) {
        let sale = &self.sales[which];
        if amount == 0 {
            return;
        }
        self.refunds += 1;
        let progress = RefundProgress {
            refund_id: Uuid::from_u128(self.refunds),
            conversion_total_minor: sale.total,
            refunded_before_minor: sale.refunded,
            refunded_after_minor: sale.refunded + amount,
        };
        let position = positions(&self.journal).get(&sale.accrual.id).copied();
        if let Some(position) = position {
            self.journal
                .extend(refund(&sale.accrual, &position, &progress, self.now).unwrap());
        }
        self.sales[which].refunded += amount;
    }

    /// Withdraws sale `which`'s commission and accrues a new one on what is left
    /// of the sale; later refunds count from there.
    fn reattribute(&mut self, which: usize, rate_pct: i64) {
        let old = self.sales[which].accrual.clone();
        let left = self.sales[which].total - self.sales[which].refunded;
        if left == 0 {
            return;
        }
        if let Some(p) = positions(&self.journal).get(&old.id).copied() {
            self.journal
                .extend(supersede(&old, &p, Uuid::from_u128(7), self.now).unwrap());
        }
        self.accruals += 1;
        let accrual = Accrual {
            id: Uuid::from_u128(1_000_000 + self.accruals),
            amount_minor: left * rate_pct / 100,
            accrued_at: self.now,
            payable_at: Accrual::payable_at(self.now, TimeDelta::days(10)),
            ..old
        };
        self.journal.extend(accrue(&accrual).unwrap());
        self.sales[which] = Sale {
            accrual,
            total: left,
            refunded: 0,
        };
    }

    fn release_due(&mut self) {
        let pos = positions(&self.journal);
        for sale in &self.sales {
            if let Some(p) = pos.get(&sale.accrual.id)
                && sale.accrual.payable_at <= self.now
            {
                self.journal
                    .extend(release(&sale.accrual, p, self.now).unwrap());
            }
        }
    }

    fn settle(&mut self, minimum: i64) {
        let policy = SettlementPolicy {
            minimum_payout_minor: ["JPY", "EUR", "BHD"]
                .iter()
                .map(|c| (Currency::parse(c).unwrap(), minimum))
                .collect(),
        };
        let items = open_items(&self.journal, self.now);
        let run = settle(self.now.date_naive(), &items, &policy).unwrap();
        for s in &run.statements {
            self.journal.push(s.journal_entry(self.now).unwrap());
        }
        // A second run of the same period finds nothing new to settle.
        let again = settle(
            self.now.date_naive(),
            &open_items(&self.journal, self.now),
            &policy,
        )
        .unwrap();
        assert!(again.statements.is_empty());
        assert_eq!(again.carried_forward, run.carried_forward);
    }
}

fn check_balanced(journal: &[JournalEntry]) {
    for e in journal {
        let mut sums: BTreeMap<Currency, i64> = BTreeMap::new();
        for l in e.lines() {
            *sums.entry(l.currency).or_default() += l.amount_minor;
        }
        assert!(sums.values().all(|s| *s == 0), "unbalanced entry {e:?}");
    }
    let mut per_side: BTreeMap<(Currency, Side), i64> = BTreeMap::new();
    for ((account, currency), b) in balances(journal) {
        *per_side.entry((currency, account.side)).or_default() += b;
    }
    for ((currency, side), b) in &per_side {
        if *side == Side::Receivable {
            assert_eq!(
                *b,
                -per_side
                    .get(&(*currency, Side::Payable))
                    .copied()
                    .unwrap_or(0)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn ledger_stays_balanced_and_full_refunds_net_to_zero(ops in prop::collection::vec(op(), 1..60)) {
        let currencies = ["JPY", "EUR", "BHD"];
        let mut w = World {
            now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            sales: Vec::new(),
            journal: Vec::new(),
            refunds: 0,
            accruals: 0,
        };
        for op in ops {
            match op {
                Op::Convert { payer, payee, currency, total, rate_pct } => {
                    if payer == payee {
                        continue;
                    }
                    let accrual = Accrual {
                        id: Uuid::from_u128(1_000 + w.sales.len() as u128),
                        conversion_id: Uuid::from_u128(2_000 + w.sales.len() as u128),
                        payer: PartnerId(Uuid::from_u128(u128::from(payer))),
                        payee: PartnerId(Uuid::from_u128(u128::from(payee))),
                        currency: Currency::parse(currencies[usize::from(currency)]).unwrap(),
                        amount_minor: total * rate_pct / 100,
                        accrued_at: w.now,
                        payable_at: Accrual::payable_at(w.now, TimeDelta::days(10)),
                    };
                    w.journal.extend(accrue(&accrual).unwrap());
                    w.sales.push(Sale { accrual, total, refunded: 0 });
                }
                Op::Refund { which, per_mille } => {
                    if !w.sales.is_empty() {
                        let i = which % w.sales.len();
                        let left = w.sales[i].total - w.sales[i].refunded;
                        w.refund(i, (left * per_mille + 999) / 1000);
                    }
                }
                Op::Advance { days } => {
                    w.now += TimeDelta::days(days);
                    w.release_due();
                }
                Op::Settle { minimum } => w.settle(minimum),
                Op::Reattribute { which, rate_pct } => {
                    if !w.sales.is_empty() {
                        w.reattribute(which % w.sales.len(), rate_pct);
                    }
                }
            }
            check_balanced(&w.journal);
        }
        // Refund everything still sold, then let time pass and settle once more.
        for i in 0..w.sales.len() {
            let left = w.sales[i].total - w.sales[i].refunded;
            w.refund(i, left);
        }
        w.now += TimeDelta::days(30);
        w.release_due();
        w.settle(0);
        check_balanced(&w.journal);
        for p in positions(&w.journal).values() {
            prop_assert_eq!(p.net(), 0);
        }
        let mut net_per_party: BTreeMap<(PartnerId, Side, Currency), i64> = BTreeMap::new();
        for ((account, currency), b) in balances(&w.journal) {
            *net_per_party.entry((account.owner, account.side, currency)).or_default() += b;
        }
        prop_assert!(net_per_party.values().all(|b| *b == 0));
    }
}
