//! Largest-remainder allocation: splitting an integer amount by weights so the parts
//! sum exactly to the whole, and normalising weights so they sum exactly to 1.

use rust_decimal::{Decimal, RoundingStrategy};

/// Decimal places of a normalised weight. Twelve places keep a one-in-a-trillion
/// resolution while `total × weight` still fits an `i128` for any `i64` total.
pub const WEIGHT_SCALE: u32 = 12;

/// Decimal places raw weights are quantised to (relative to the largest) before
/// normalising: the integer arithmetic below is then exact.
const RAW_SCALE: u32 = 18;

/// Why weights cannot be used for an allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("no weights given")]
    Empty,
    #[error("weights must not be negative")]
    Negative,
    #[error("weights sum to zero")]
    ZeroSum,
    #[error("weights are too large or too precise to allocate exactly")]
    Overflow,
}

/// Splits `total` minor units by `weights` (any non-negative scale, not all zero).
///
/// Each part gets the floor of its exact share; the units left over go one each to
/// the largest remainders, ties to the smaller key, so the result is the same for
/// the same input in any order. A negative total is split as its absolute value and
/// negated, so a refund mirrors the sale it undoes.
pub fn allocate<K: Ord + Clone>(
    total: i64,
    weights: &[(K, Decimal)],
) -> Result<Vec<(K, i64)>, AllocationError> {
    let ints = integer_weights(weights)?;
    let parts = largest_remainder(i128::from(total.unsigned_abs()), &ints)?;
    let sign = if total < 0 { -1 } else { 1 };
    parts
        .into_iter()
        .map(|(k, p)| {
            i64::try_from(p)
                .map(|p| (k, sign * p))
                .map_err(|_| AllocationError::Overflow)
        })
        .collect()
}

/// Normalises non-negative weights to [`WEIGHT_SCALE`] decimal places summing to
/// exactly 1, by allocating 10^12 units with the largest-remainder rule.
///
/// Raw weights are first divided by the largest one and rounded to 18 places, so
/// weights smaller than 10^-18 of the largest count as zero.
pub fn normalise<K: Ord + Clone>(
    weights: &[(K, Decimal)],
) -> Result<Vec<(K, Decimal)>, AllocationError> {
    check(weights)?;
    let max = weights
        .iter()
        .map(|(_, w)| *w)
        .max()
        .ok_or(AllocationError::Empty)?;
    if max.is_zero() {
        return Err(AllocationError::ZeroSum);
    }
    let quantised: Vec<(K, i128)> = weights
        .iter()
        .map(|(k, w)| {
            let q =
                (*w / max).round_dp_with_strategy(RAW_SCALE, RoundingStrategy::MidpointNearestEven);
            scaled_mantissa(q, RAW_SCALE).map(|m| (k.clone(), m))
        })
        .collect::<Option<_>>()
        .ok_or(AllocationError::Overflow)?;
    let units = largest_remainder(10_i128.pow(WEIGHT_SCALE), &quantised)?;
    units
        .into_iter()
        .map(|(k, u)| {
            i64::try_from(u)
                .map(|u| (k, Decimal::new(u, WEIGHT_SCALE)))
                .map_err(|_| AllocationError::Overflow)
        })
        .collect()
}

fn check<K>(weights: &[(K, Decimal)]) -> Result<(), AllocationError> {
    if weights.is_empty() {
        return Err(AllocationError::Empty);
    }
    if weights
        .iter()
        .any(|(_, w)| w.is_sign_negative() && !w.is_zero())
    {
        return Err(AllocationError::Negative);
    }
    Ok(())
}

/// The weights as integers at their common scale, so shares are exact.
fn integer_weights<K: Clone>(weights: &[(K, Decimal)]) -> Result<Vec<(K, i128)>, AllocationError> {
    check(weights)?;
    let scale = weights.iter().map(|(_, w)| w.scale()).max().unwrap_or(0);
    weights
        .iter()
        .map(|(k, w)| scaled_mantissa(*w, scale).map(|m| (k.clone(), m)))
        .collect::<Option<_>>()
        .ok_or(AllocationError::Overflow)
}

/// `value × 10^scale` as an integer, when `value` has at most `scale` places.
fn scaled_mantissa(value: Decimal, scale: u32) -> Option<i128> {
    let up = scale.checked_sub(value.scale())?;
    value.mantissa().checked_mul(10_i128.checked_pow(up)?)
}

/// The exact largest-remainder rule on integers: `total × w / Σw` floored, then one
/// unit each to the largest remainders, ties to the smaller key.
fn largest_remainder<K: Ord + Clone>(
    total: i128,
    weights: &[(K, i128)],
) -> Result<Vec<(K, i128)>, AllocationError> {
    let sum = weights
        .iter()
        .try_fold(0_i128, |acc, (_, w)| acc.checked_add(*w))
        .ok_or(AllocationError::Overflow)?;
    if sum == 0 {
        return Err(AllocationError::ZeroSum);
    }
    let mut parts = Vec::with_capacity(weights.len());
    for (i, (_, w)) in weights.iter().enumerate() {
        let product = total.checked_mul(*w).ok_or(AllocationError::Overflow)?;
        parts.push((i, product / sum, product % sum));
    }
    let given: i128 = parts.iter().map(|(_, q, _)| q).sum();
    // Fewer leftover units than parts, since each remainder is below one unit.
    let leftover = usize::try_from(total - given).map_err(|_| AllocationError::Overflow)?;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        parts[b]
            .2
            .cmp(&parts[a].2)
            .then_with(|| weights[a].0.cmp(&weights[b].0))
    });
    for &i in order.iter().take(leftover) {
        parts[i].1 += 1;
    }
    Ok(parts
        .into_iter()
        .map(|(i, q, _)| (weights[i].0.clone(), q))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn thirds_of_a_hundred_cents() {
        let w = [(1, dec!(1)), (2, dec!(1)), (3, dec!(1))];
        assert_eq!(allocate(100, &w).unwrap(), vec![(1, 34), (2, 33), (3, 33)]);
        // Same remainders: the smaller key wins whatever the input order.
        let w = [(3, dec!(1)), (2, dec!(1)), (1, dec!(1))];
        assert_eq!(allocate(100, &w).unwrap(), vec![(3, 33), (2, 33), (1, 34)]);
    }

    #[test]
    fn largest_remainder_beats_key() {
        // 10 × (0.15, 0.25, 0.6) = 1.5, 2.5, 6: both halves tie, key 1 wins.
        let w = [(1, dec!(0.15)), (2, dec!(0.25)), (3, dec!(0.6))];
        assert_eq!(allocate(10, &w).unwrap(), vec![(1, 2), (2, 2), (3, 6)]);
        // 10 × (0.14, 0.26, 0.6): 1.4 and 2.6, the larger remainder wins.
        let w = [(1, dec!(0.14)), (2, dec!(0.26)), (3, dec!(0.6))];
        assert_eq!(allocate(10, &w).unwrap(), vec![(1, 1), (2, 3), (3, 6)]);
    }

    #[test]
    fn negative_totals_mirror_positive_ones() {
        let w = [(1, dec!(1)), (2, dec!(2))];
        assert_eq!(allocate(-100, &w).unwrap(), vec![(1, -33), (2, -67)]);
    }

    #[test]
    fn bad_weights_are_refused() {
        assert_eq!(allocate::<u8>(1, &[]), Err(AllocationError::Empty));
        assert_eq!(
            allocate(1, &[(1, dec!(-1)), (2, dec!(2))]),
            Err(AllocationError::Negative)
        );
        assert_eq!(allocate(1, &[(1, dec!(0))]), Err(AllocationError::ZeroSum));
    }

    #[test]
    fn normalised_thirds_sum_to_one() {
        let n = normalise(&[(1, dec!(1)), (2, dec!(1)), (3, dec!(1))]).unwrap();
        assert_eq!(
            n,
            vec![
                (1, dec!(0.333333333334)),
                (2, dec!(0.333333333333)),
                (3, dec!(0.333333333333))
            ]
        );
    }

    proptest! {
        #[test]
        fn parts_sum_to_the_total(
            total in -1_000_000_000_000_i64..1_000_000_000_000,
            raw in prop::collection::vec(0_u32..1_000_000, 1..12),
        ) {
            prop_assume!(raw.iter().any(|w| *w > 0));
            let w: Vec<(usize, Decimal)> =
                raw.iter().enumerate().map(|(i, w)| (i, Decimal::new(i64::from(*w), 3))).collect();
            let n = normalise(&w).unwrap();
            prop_assert_eq!(n.iter().map(|(_, w)| *w).sum::<Decimal>(), Decimal::ONE);
            let parts = allocate(total, &n).unwrap();
            prop_assert_eq!(parts.iter().map(|(_, p)| *p).sum::<i64>(), total);
            // No part strays more than one unit from its exact share.
            for ((_, p), (_, w)) in parts.iter().zip(&n) {
                let exact = Decimal::from(total) * *w;
                prop_assert!((Decimal::from(*p) - exact).abs() < Decimal::ONE);
            }
        }
    }
}
