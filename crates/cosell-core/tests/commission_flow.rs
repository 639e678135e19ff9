//! One sale through the whole domain path, in the order the store calls it:
//! eligibility → attribution → commission → accrual → refund → release → settlement
//! → clawback, with every amount checked by hand.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use cosell_core::attribution::{
    BuiltinModel, Conversion, ImpressionPolicy, PartnerTerms, Touchpoint, TouchpointKind,
    attribute, eligibility,
};
use cosell_core::commission::{
    CommissionBase, CommissionTerms, SaleLine, commission, split_over_lines,
};
use cosell_core::ledger::{
    Accrual, JournalEntry, RefundProgress, accrue, positions, refund, release,
};
use cosell_core::settlement::{CarryReason, SettlementPolicy, open_items, settle};
use cosell_core::{Currency, PartnerId};
use rust_decimal_macros::dec;
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn pid(n: u128) -> PartnerId {
    PartnerId(id(n))
}

fn at(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 12, 0, 0).unwrap()
}

fn touch(n: u128, partner: u128, kind: TouchpointKind, when: DateTime<Utc>) -> Touchpoint {
    Touchpoint {
        id: id(n),
        partner_id: pid(partner),
        kind,
        occurred_at: when,
        customer_ref: Some("cust-9".into()),
        click_id: None,
        bot: false,
    }
}

#[test]
fn sale_to_statement_to_clawback() {
    let eur = Currency::parse("EUR").unwrap();
    let merchant = pid(1);
    // €200.00: €50 of books, €150 of other goods.
    let conversion = Conversion {
        id: id(100),
        merchant_id: merchant,
        customer_ref: "cust-9".into(),
        click_id: None,
        occurred_at: at(3, 20),
        currency: eur,
        amount_minor: 20_000,
    };
    let sale_lines = [
        SaleLine {
            category: Some("books".into()),
            amount_minor: 5_000,
        },
        SaleLine {
            category: None,
            amount_minor: 15_000,
        },
    ];
    let partner_terms: BTreeMap<PartnerId, PartnerTerms> = [2, 3]
        .iter()
        .map(|p| {
            (
                pid(*p),
                PartnerTerms::new(true, 30, ImpressionPolicy::Count, BTreeSet::new()).unwrap(),
            )
        })
        .collect();
    let touches = [
        touch(10, 2, TouchpointKind::Click, at(3, 10)),
        touch(11, 3, TouchpointKind::Referral, at(3, 15)),
        touch(12, 1, TouchpointKind::Click, at(3, 16)),
    ];

    // Linear: half each.
    let e = eligibility(&conversion, &touches, &partner_terms);
    let attribution = attribute(&conversion, e, &BuiltinModel::Linear).unwrap();
    assert_eq!(attribution.excluded.len(), 1);
    let credits: Vec<_> = attribution
        .partners
        .iter()
        .map(|p| (p.partner_id, p.amount_minor))
        .collect();
    assert_eq!(credits, vec![(pid(2), 10_000), (pid(3), 10_000)]);

    // 5% on €25 of books + 10% on €75: €8.75 each.
    let terms = CommissionTerms {
        base_rate: Some(dec!(0.10)),
        flat: None,
        category_rates: [("books".to_string(), dec!(0.05))].into(),
        tiers: vec![],
        cap_per_conversion: None,
        hold_days: 14,
    };
    let mut journal: Vec<JournalEntry> = Vec::new();
    let mut accruals = Vec::new();
    for (i, credit) in attribution.partners.iter().enumerate() {
        let base = CommissionBase {
            currency: eur,
            weight: credit.weight,
            lines: split_over_lines(credit.amount_minor, &sale_lines).unwrap(),
            period_revenue_minor: credit.amount_minor,
        };
        let c = commission(&terms, &base).unwrap();
        assert_eq!(c.amount_minor, 875);
        let a = Accrual {
            id: id(200 + i as u128),
            conversion_id: conversion.id,
            payer: merchant,
            payee: credit.partner_id,
            currency: eur,
            amount_minor: c.amount_minor,
            accrued_at: conversion.occurred_at,
            payable_at: Accrual::payable_at(conversion.occurred_at, terms.hold()),
        };
        journal.extend(accrue(&a).unwrap());
        accruals.push(a);
    }

    // €50 refunded inside the hold period: a quarter, 218.75 → 219 reversed each.
    for a in &accruals {
        let p = positions(&journal)[&a.id];
        let progress = RefundProgress {
            refund_id: id(300),
            conversion_total_minor: 20_000,
            refunded_before_minor: 0,
            refunded_after_minor: 5_000,
        };
        journal.extend(refund(a, &p, &progress, at(3, 25)).unwrap());
    }
    for a in &accruals {
        let p = positions(&journal)[&a.id];
        journal.extend(release(a, &p, at(4, 4)).unwrap());
        assert_eq!(positions(&journal)[&a.id].payable, 656);
    }

    // April's run pays both (minimum €5).
    let policy = SettlementPolicy {
        minimum_payout_minor: [(eur, 500)].into(),
    };
    let april = NaiveDate::from_ymd_opt(2026, 4, 30).unwrap();
    let run = settle(april, &open_items(&journal, at(4, 30)), &policy).unwrap();
    let nets: Vec<_> = run
        .statements
        .iter()
        .map(|s| (s.key.payee, s.net_minor))
        .collect();
    assert_eq!(nets, vec![(pid(2), 656), (pid(3), 656)]);
    for s in &run.statements {
        journal.push(s.journal_entry(at(4, 30)).unwrap());
    }

    // The rest refunded after settlement: 656 clawed back each, carried as a
    // negative line; May's run has nothing to pay.
    for a in &accruals {
        let p = positions(&journal)[&a.id];
        let progress = RefundProgress {
            refund_id: id(301),
            conversion_total_minor: 20_000,
            refunded_before_minor: 5_000,
            refunded_after_minor: 20_000,
        };
        journal.extend(refund(a, &p, &progress, at(5, 2)).unwrap());
        let p = positions(&journal)[&a.id];
        assert_eq!((p.settled, p.clawback, p.net()), (656, -656, 0));
    }
    let may = NaiveDate::from_ymd_opt(2026, 5, 31).unwrap();
    let run = settle(may, &open_items(&journal, at(5, 31)), &policy).unwrap();
    assert!(run.statements.is_empty());
    let carried: Vec<_> = run
        .carried_forward
        .iter()
        .map(|c| (c.net_minor, c.reason))
        .collect();
    assert_eq!(
        carried,
        vec![
            (-656, CarryReason::NegativeNet),
            (-656, CarryReason::NegativeNet)
        ]
    );
}
