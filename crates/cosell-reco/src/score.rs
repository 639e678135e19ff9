//! The ranking score. Every candidate gets a relevance in [0, 1] from its pieces of
//! evidence, multiplied by a value factor in [1, 2) from the money the sale brings in;
//! `docs/recommendations.md` gives the formula and its reasons.

use rust_decimal::Decimal;

use crate::model::Neighbour;
use cosell_core::catalog::RelationKind;

/// Relevance of a declared relation kind before its weight: an accessory completes the
/// anchor, a complement goes with it, a bundle mate is sold with it, an upgrade replaces
/// part of the purchase and is the least welcome.
pub fn relation_relevance(kind: RelationKind, weight: f64) -> f64 {
    let base = match kind {
        RelationKind::Accessory => 1.0,
        RelationKind::Complementary => 0.8,
        RelationKind::BundleMember => 0.7,
        RelationKind::Upgrade => 0.5,
        RelationKind::Competing => 0.0,
    };
    base * weight.clamp(0.0, 1.0)
}

/// Relevance of a partner offer anchored on a product in the cart: the partner chose
/// the anchor, which is evidence, but weaker than the merchant's own accessory link.
pub const OFFER_RELEVANCE: f64 = 0.6;

/// Relevance of a bundle that holds an anchor.
pub const BUNDLE_RELEVANCE: f64 = 0.7;

/// Relevance of a co-purchase neighbour: the confidence P(candidate | anchor), kept only
/// when lift is above 1. Confidence is what predicts the next item best (checked by the
/// offline evaluation); the lift test drops pairs that meet only because both items
/// are everywhere.
pub fn copurchase_relevance(n: &Neighbour) -> f64 {
    if n.lift > 1.0 { n.confidence } else { 0.0 }
}

/// Noisy-or of independent pieces of evidence: 1 − Π(1 − rᵢ). Stays in [0, 1], never
/// below the strongest piece, and grows with every further one.
pub fn combine(relevances: impl IntoIterator<Item = f64>) -> f64 {
    1.0 - relevances
        .into_iter()
        .map(|r| 1.0 - r.clamp(0.0, 1.0))
        .product::<f64>()
}

/// 1 + v / (v + scale) for an expected value v (margin, or commission on an offer):
/// 1 for nothing, 1.5 at `scale`, approaching 2. Value breaks ties between equally
/// relevant items but cannot lift an irrelevant expensive item over a relevant one.
pub fn value_factor(expected: Decimal, scale: Decimal) -> f64 {
    let v = approx_f64(expected).max(0.0);
    let s = approx_f64(scale).max(f64::MIN_POSITIVE);
    1.0 + v / (v + s)
}

/// `d` as the nearest f64, or close to it: a score only orders items. `Decimal::to_f64` is
/// exact but slow (a 128-bit division per call, on every candidate of every request); any
/// money amount's mantissa fits in an i64, which converts in one instruction.
fn approx_f64(d: Decimal) -> f64 {
    let mantissa = d.mantissa();
    let m = i64::try_from(mantissa).map_or(mantissa as f64, |m| m as f64);
    m / 10f64.powi(d.scale() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_relevance_is_at_least_the_strongest_and_at_most_one() {
        assert_eq!(combine([]), 0.0);
        assert!((combine([0.6]) - 0.6).abs() < 1e-12);
        let both = combine([0.6, 0.5]);
        assert!(both > 0.6 && both < 1.0);
        assert!((combine([1.0, 0.2]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn value_factor_is_bounded() {
        let scale = Decimal::from(50);
        assert_eq!(value_factor(Decimal::ZERO, scale), 1.0);
        assert!((value_factor(scale, scale) - 1.5).abs() < 1e-12);
        assert!(value_factor(Decimal::from(1_000_000), scale) < 2.0);
    }

    #[test]
    fn decimals_convert_to_the_nearest_f64() {
        for text in [
            "0",
            "19.90",
            "-3.5",
            "0.000001",
            "123456789012.34",
            "79228162514264337593543950335",
        ] {
            let d: Decimal = text.parse().unwrap();
            assert_eq!(approx_f64(d), text.parse::<f64>().unwrap(), "{text}");
        }
    }
}
