//! Unit tests of the plugin through its SDK traits.

use super::*;
use cosell_plugin_sdk::abi::{Conversion, Journey, Touchpoint};
use rust_decimal_macros::dec;

fn model() -> ShapleyAttribution {
    ShapleyAttribution::init(ShapleyConfig { samples: 500 }).unwrap_or_else(|e| panic!("{e}"))
}

fn request(partners: &[&str]) -> AttributeRequest {
    let at = "2026-01-01T00:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    AttributeRequest {
        conversion: Conversion {
            id: "c1".into(),
            amount: dec!(100),
            currency: "EUR".into(),
            occurred_at: at,
        },
        touchpoints: partners
            .iter()
            .map(|p| Touchpoint {
                partner_id: (*p).into(),
                at,
            })
            .collect(),
    }
}

fn journeys(partners: &[&str], count: usize, converted: usize) -> Vec<Journey> {
    (0..count)
        .map(|i| Journey {
            partners: partners.iter().map(|p| (*p).into()).collect(),
            converted: i < converted,
        })
        .collect()
}

fn weights(response: &AttributeResponse) -> Vec<(&str, Decimal)> {
    response
        .weights
        .iter()
        .map(|w| (w.partner_id.as_str(), w.weight))
        .collect()
}

#[test]
fn unfitted_model_splits_equally() -> Result<(), PluginError> {
    let response = model().attribute(&request(&["a", "b", "a", "c"]))?;
    let w = weights(&response);
    assert_eq!(
        w.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(w.iter().map(|(_, w)| *w).sum::<Decimal>(), Decimal::ONE);
    assert_eq!(w[1].1, dec!(0.333333333333));
    Ok(())
}

#[test]
fn fitted_model_credits_the_readme_example() -> Result<(), PluginError> {
    let mut model = model();
    let data = [
        journeys(&["A"], 10, 2),
        journeys(&["B"], 10, 1),
        journeys(&["A", "B"], 10, 4),
    ]
    .concat();
    let summary = model.fit(FitRequest { journeys: data })?;
    assert_eq!((summary.journeys, summary.partners), (30, 2));
    let response = model.attribute(&request(&["B", "A"]))?;
    assert_eq!(weights(&response), [("B", dec!(0.375)), ("A", dec!(0.625))]);
    Ok(())
}

#[test]
fn a_partner_that_lowers_conversion_gets_nothing() -> Result<(), PluginError> {
    let mut model = model();
    let data = [
        journeys(&["good"], 10, 5),
        journeys(&["bad"], 10, 0),
        journeys(&["good", "bad"], 10, 1),
    ]
    .concat();
    model.fit(FitRequest { journeys: data })?;
    let response = model.attribute(&request(&["good", "bad"]))?;
    assert_eq!(
        weights(&response),
        [("good", Decimal::ONE), ("bad", Decimal::ZERO)]
    );
    Ok(())
}

#[test]
fn weights_always_sum_to_exactly_one() {
    for values in [
        vec![0.1, 0.2, 0.3],
        vec![1.0 / 3.0; 3],
        vec![0.0, 0.0],
        vec![-1.0, f64::NAN, 2.0],
    ] {
        let sum: Decimal = to_weights(&values).iter().sum();
        assert_eq!(sum, Decimal::ONE, "{values:?}");
    }
}

#[test]
fn requests_without_touchpoints_and_bad_configs_are_refused() {
    assert!(model().attribute(&request(&[])).is_err());
    assert!(ShapleyAttribution::init(ShapleyConfig { samples: 0 }).is_err());
}
