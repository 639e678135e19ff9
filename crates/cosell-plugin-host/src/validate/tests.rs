//! Unit tests of the output checks.

use super::*;
use cosell_plugin_abi::{
    CommissionLine, Conversion, PartnerWeight, PeriodTotals, ProductRow, Relation, RelationKind,
    Touchpoint,
};
use rust_decimal_macros::dec;

fn conversion() -> Conversion {
    Conversion {
        id: "c1".into(),
        amount: dec!(100.00),
        currency: "EUR".into(),
        occurred_at: "2026-01-01T00:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

fn weights(pairs: &[(&str, Decimal)]) -> AttributeResponse {
    let weights = pairs
        .iter()
        .map(|(p, w)| PartnerWeight {
            partner_id: (*p).into(),
            weight: *w,
        })
        .collect();
    AttributeResponse { weights }
}

#[test]
fn attribution_weights_must_be_eligible_distinct_non_negative_and_sum_to_one() {
    let at = conversion().occurred_at;
    let touch = |p: &str| Touchpoint {
        partner_id: p.into(),
        at,
    };
    let request = AttributeRequest {
        conversion: conversion(),
        touchpoints: vec![touch("a"), touch("b")],
    };
    let check = |pairs: &[(&str, Decimal)]| attribution(&request, &weights(pairs), dec!(1e-9));
    assert!(check(&[("a", dec!(0.3)), ("b", dec!(0.7))]).is_ok());
    assert!(check(&[("a", dec!(0.3333333333)), ("b", dec!(0.6666666667))]).is_ok());
    assert!(check(&[("a", dec!(0.6)), ("b", dec!(0.7))]).is_err());
    assert!(check(&[("a", dec!(1.3)), ("b", dec!(-0.3))]).is_err());
    assert!(check(&[("a", dec!(0.5)), ("c", dec!(0.5))]).is_err());
    assert!(check(&[("a", dec!(0.5)), ("a", dec!(0.5))]).is_err());
    assert!(check(&[("a", dec!(0.5)), ("b", dec!(0.49))]).is_err());
    assert!(check(&[]).is_err());
}

#[test]
fn commission_lines_must_be_non_negative_same_currency_and_within_the_partners_share() {
    // One of three partners credited with a third of the sale.
    let request = CommissionRequest {
        conversion: conversion(),
        partner_id: "a".into(),
        weight: dec!(0.3333),
        attributed_amount: dec!(33.33),
        period: PeriodTotals {
            attributed_revenue: Decimal::ZERO,
            conversions: 0,
        },
    };
    let line = |amount: Decimal, currency: &str| CommissionLine {
        amount,
        currency: currency.into(),
        description: String::new(),
    };
    let check = |lines: Vec<CommissionLine>| commission(&request, &CommissionResponse { lines });
    assert!(check(vec![line(dec!(5), "EUR"), line(dec!(28.33), "EUR")]).is_ok());
    assert!(check(vec![]).is_ok());
    assert!(check(vec![line(dec!(-1), "EUR")]).is_err());
    assert!(check(vec![line(dec!(5), "USD")]).is_err());
    assert!(check(vec![line(dec!(30), "EUR"), line(dec!(3.34), "EUR")]).is_err());
    // Within the whole sale, but more than this partner's share of it.
    let whole = check(vec![line(conversion().amount, "EUR")]);
    assert_eq!(
        whole,
        Err(format!(
            "commission {} exceeds the 33.33 EUR credited to partner a",
            conversion().amount
        ))
    );
}

#[test]
fn catalog_rows_and_relations_must_be_valid() {
    let product = |sku: &str, price: Decimal, currency: &str| ProductRow {
        sku: sku.into(),
        name: format!("Product {sku}"),
        price,
        currency: currency.into(),
        url: None,
    };
    let relation = |from: &str, to: &str| Relation {
        from_sku: from.into(),
        to_sku: to.into(),
        kind: RelationKind::Accessory,
    };
    let check = |products, relations| {
        catalog(&CatalogContribution {
            products,
            relations,
            rejected: vec![],
        })
    };
    let good = || vec![product("a", dec!(1), "EUR"), product("b", dec!(2), "EUR")];
    assert!(check(good(), vec![relation("a", "b")]).is_ok());
    assert!(check(good(), vec![relation("a", "a")]).is_err());
    assert!(check(good(), vec![relation("a", "z")]).is_err());
    assert!(
        check(
            vec![product("a", dec!(1), "EUR"), product("a", dec!(1), "EUR")],
            vec![]
        )
        .is_err()
    );
    assert!(check(vec![product("a", dec!(-1), "EUR")], vec![]).is_err());
    assert!(check(vec![product("a", dec!(1), "eur")], vec![]).is_err());
    assert!(check(vec![product(" ", dec!(1), "EUR")], vec![]).is_err());
}
