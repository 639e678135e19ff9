//! Hand-checked attributions per model, and the invariants for any input.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::money::Currency;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal_macros::dec;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn pid(n: u128) -> PartnerId {
    PartnerId(id(n))
}

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap()
}

fn conversion(amount_minor: i64, currency: &str) -> Conversion {
    Conversion {
        id: id(1000),
        merchant_id: pid(1),
        customer_ref: "cust".into(),
        click_id: None,
        occurred_at: day(20),
        currency: Currency::parse(currency).unwrap(),
        amount_minor,
    }
}

fn touch(n: u128, partner: u128, kind: TouchpointKind, at: DateTime<Utc>) -> Touchpoint {
    Touchpoint {
        id: id(n),
        partner_id: pid(partner),
        kind,
        occurred_at: at,
        customer_ref: Some("cust".into()),
        click_id: None,
        bot: false,
    }
}

fn terms(impressions: ImpressionPolicy, partners: &[u128]) -> BTreeMap<PartnerId, PartnerTerms> {
    partners
        .iter()
        .map(|p| {
            (
                pid(*p),
                PartnerTerms::new(true, 30, impressions, BTreeSet::new()).unwrap(),
            )
        })
        .collect()
}

/// A (partner 2) on days 6 and 18, B (3) on day 13, C (4) on day 20; €100.01.
fn amounts(model: BuiltinModel) -> Vec<(u128, i64)> {
    use TouchpointKind::*;
    let c = conversion(10_001, "EUR");
    let touches = [
        touch(11, 2, Click, day(6)),
        touch(12, 3, Click, day(13)),
        touch(13, 2, Referral, day(18)),
        touch(14, 4, Click, day(20)),
    ];
    let e = eligibility(&c, &touches, &terms(ImpressionPolicy::Count, &[2, 3, 4]));
    let a = attribute(&c, e, &model).unwrap();
    a.partners
        .iter()
        .map(|p| (p.partner_id.0.as_u128(), p.amount_minor))
        .collect()
}

#[test]
fn last_and_first_touch_take_everything() {
    assert_eq!(amounts(BuiltinModel::LastTouch), vec![(4, 10_001)]);
    assert_eq!(amounts(BuiltinModel::FirstTouch), vec![(2, 10_001)]);
}

#[test]
fn linear_gives_the_leftover_cent_to_the_largest_remainder() {
    // A 0.5 → 5000.5, B and C 0.25 → 2500.25: A gets the odd cent.
    assert_eq!(
        amounts(BuiltinModel::Linear),
        vec![(2, 5_001), (3, 2_500), (4, 2_500)]
    );
}

#[test]
fn position_based_is_40_20_40() {
    // A 0.4 + 0.1 → 5000.5, B 0.1 → 1000.1, C 0.4 → 4000.4.
    assert_eq!(
        amounts(BuiltinModel::PositionBased),
        vec![(2, 5_001), (3, 1_000), (4, 4_000)]
    );
}

#[test]
fn time_decay_halves_per_week() {
    // Raw 0.25, 0.5, 0.5^(2/7) = 0.8203…, 1 → A 4164.60, B 1945.47, C 3890.93.
    let m = BuiltinModel::TimeDecay {
        half_life: HalfLife::default(),
    };
    assert_eq!(amounts(m), vec![(2, 4_165), (3, 1_945), (4, 3_891)]);
}

#[test]
fn single_and_double_touch_position_based() {
    use TouchpointKind::*;
    let c = conversion(101, "JPY");
    let t = terms(ImpressionPolicy::Count, &[2, 3]);
    let one = [touch(11, 2, Click, day(10))];
    let a = attribute(&c, eligibility(&c, &one, &t), &BuiltinModel::PositionBased).unwrap();
    assert_eq!(a.partners[0].weight, dec!(1));
    let two = [touch(11, 2, Click, day(10)), touch(12, 3, Click, day(11))];
    let a = attribute(&c, eligibility(&c, &two, &t), &BuiltinModel::PositionBased).unwrap();
    let got: Vec<_> = a
        .partners
        .iter()
        .map(|p| (p.weight, p.amount_minor))
        .collect();
    // ¥101 halves: the tie goes to the smaller partner id.
    assert_eq!(got, vec![(dec!(0.5), 51), (dec!(0.5), 50)]);
}

#[test]
fn down_weighted_impressions_count_less() {
    use TouchpointKind::*;
    let c = conversion(10_001, "EUR");
    let touches = [
        touch(11, 2, Impression, day(10)),
        touch(12, 3, Click, day(11)),
    ];
    let t = terms(ImpressionPolicy::DownWeight(dec!(0.5)), &[2, 3]);
    let a = attribute(&c, eligibility(&c, &touches, &t), &BuiltinModel::Linear).unwrap();
    let got: Vec<_> = a
        .partners
        .iter()
        .map(|p| (p.weight, p.amount_minor))
        .collect();
    assert_eq!(
        got,
        vec![(dec!(0.333333333333), 3_334), (dec!(0.666666666667), 6_667)]
    );
    assert_eq!(
        a.model,
        ModelRef {
            name: "linear".into(),
            version: "1".into()
        }
    );
}

#[test]
fn nothing_eligible_credits_nobody() {
    let c = conversion(500, "EUR");
    let touches = [touch(11, 9, TouchpointKind::Click, day(10))];
    let a = attribute(
        &c,
        eligibility(&c, &touches, &BTreeMap::new()),
        &BuiltinModel::Linear,
    )
    .unwrap();
    assert!(a.partners.is_empty());
    assert_eq!(a.excluded[0].reason, ExclusionReason::NoActivePartnership);
}

#[test]
fn external_partner_weights_are_checked() {
    let eligible: BTreeSet<PartnerId> = [pid(2), pid(3)].into();
    let tol = dec!(0.000001);
    let ok: BTreeMap<PartnerId, Decimal> =
        [(pid(2), dec!(0.3333333)), (pid(3), dec!(0.6666666))].into();
    let n = validate_partner_weights(&ok, &eligible, tol).unwrap();
    assert_eq!(n.iter().map(|(_, w)| *w).sum::<Decimal>(), dec!(1));
    let bad: BTreeMap<PartnerId, Decimal> = [(pid(2), dec!(-0.5)), (pid(9), dec!(1.5))].into();
    let errors = validate_partner_weights(&bad, &eligible, tol).unwrap_err();
    assert_eq!(errors.0.len(), 2);
    let far: BTreeMap<PartnerId, Decimal> = [(pid(2), dec!(0.5)), (pid(3), dec!(0.4))].into();
    assert!(validate_partner_weights(&far, &eligible, tol).is_err());

    let c = conversion(1_000, "BHD");
    let touches = [
        touch(11, 2, TouchpointKind::Click, day(10)),
        touch(12, 3, TouchpointKind::Click, day(11)),
    ];
    let e = eligibility(&c, &touches, &terms(ImpressionPolicy::Count, &[2, 3]));
    let model = ModelRef {
        name: "plugin:shapley".into(),
        version: "0.1".into(),
    };
    let a = attribute_by_partner(&c, e, model, &ok, tol).unwrap();
    let got: Vec<_> = a.partners.iter().map(|p| p.amount_minor).collect();
    assert_eq!(got, vec![333, 667]);
}

fn any_model() -> impl Strategy<Value = BuiltinModel> {
    prop_oneof![
        Just(BuiltinModel::LastTouch),
        Just(BuiltinModel::FirstTouch),
        Just(BuiltinModel::Linear),
        Just(BuiltinModel::PositionBased),
        (1_i64..2_000_000).prop_map(|s| BuiltinModel::TimeDecay {
            half_life: HalfLife::new(TimeDelta::seconds(s)).unwrap()
        }),
    ]
}

fn any_touch() -> impl Strategy<Value = (u128, u8, i64)> {
    // partner, kind, seconds before the conversion (up to 29 days)
    (2_u128..7, 0_u8..3, 0_i64..2_505_600)
}

proptest! {
    #[test]
    fn weights_sum_to_one_and_amounts_to_the_total(
        model in any_model(),
        touches in prop::collection::vec(any_touch(), 1..12),
        amount in 0_i64..10_000_000_000,
        currency in prop_oneof![Just("JPY"), Just("EUR"), Just("BHD")],
        factor in 1_i64..=100,
    ) {
        let c = conversion(amount, currency);
        let touches: Vec<Touchpoint> = touches
            .iter()
            .enumerate()
            .map(|(i, (p, k, secs))| {
                let kind = [TouchpointKind::Impression, TouchpointKind::Click, TouchpointKind::Referral][usize::from(*k)];
                touch(100 + i as u128, *p, kind, day(20) - TimeDelta::seconds(*secs))
            })
            .collect();
        let t = terms(ImpressionPolicy::DownWeight(Decimal::new(factor, 2)), &[2, 3, 4, 5, 6]);
        let a = attribute(&c, eligibility(&c, &touches, &t), &model).unwrap();
        prop_assert_eq!(a.touchpoints.iter().map(|t| t.weight).sum::<Decimal>(), Decimal::ONE);
        prop_assert_eq!(a.partners.iter().map(|p| p.weight).sum::<Decimal>(), Decimal::ONE);
        prop_assert_eq!(a.partners.iter().map(|p| p.amount_minor).sum::<i64>(), amount);
        let back: Decimal = a.partners.iter().map(|p| c.currency.from_minor(p.amount_minor)).sum();
        prop_assert_eq!(back, c.currency.from_minor(amount));
    }
}
