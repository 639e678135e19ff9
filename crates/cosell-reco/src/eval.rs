//! Offline evaluation: leave-one-out on held-out baskets, co-purchase model against the
//! most-popular-items baseline.
//!
//! Baskets are split by index: every fifth basket (index ≡ 4 mod 5) is a test basket,
//! the other 80% train the model, so no test basket's pairs are counted in the model it
//! is scored against. From each test basket with at least two distinct items one item
//! is hidden: the one at position `(i / 5) mod len` of test basket `i`, so the choice
//! is deterministic yet spread over all positions. Hiding always the last item would
//! be biased: `groceries.csv` writes each basket in catalogue-category order, so the
//! last item is nearly always from the last categories (hit rates then drop to 7-8%
//! for both methods and measure the file order, not the recommender). Both recommenders
//! see the rest and propose `k` items not already in it; a hit is the hidden item
//! among them.

use std::collections::HashMap;

use crate::model::{ItemId, MinSupport, ModelBuilder};
use crate::score::{combine, copurchase_relevance};

/// Hit rates of the co-purchase model and of the baseline on the same test baskets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalResult {
    /// Baskets the model was mined from.
    pub train_baskets: u64,
    /// Test baskets with at least two items, each scored once.
    pub test_baskets: u64,
    /// Recommendations per basket.
    pub k: usize,
    pub model_hits: u64,
    pub baseline_hits: u64,
    pub model_hit_rate: f64,
    pub baseline_hit_rate: f64,
}

/// Runs the leave-one-out evaluation described in the module documentation.
///
/// The model ranks candidates exactly as the recommender's co-purchase evidence does:
/// [`copurchase_relevance`] of each visible item's neighbour, combined over the visible
/// items by noisy-or ([`combine`]); when it knows fewer than
/// `k` candidates it fills up with the most popular items, so both methods always
/// propose `k` items and the comparison is on equal terms.
pub fn evaluate_leave_one_out(
    baskets: &ModelBuilder,
    min_support: MinSupport,
    k: usize,
) -> EvalResult {
    let is_test = |i: usize| i % 5 == 4;
    let model = baskets.snapshot_where(min_support, |i| !is_test(i));
    let popular = model.items_by_popularity();
    let mut scores: HashMap<ItemId, f64> = HashMap::new();
    let (mut tested, mut model_hits, mut baseline_hits) = (0_u64, 0_u64, 0_u64);
    for i in (0..baskets.basket_count()).filter(|&i| is_test(i)) {
        let basket: Vec<ItemId> = baskets.basket(i).collect();
        if basket.len() < 2 {
            continue;
        }
        let hidden = basket[(i / 5) % basket.len()];
        let visible: Vec<ItemId> = basket.iter().copied().filter(|&x| x != hidden).collect();
        tested += 1;
        let baseline = popular.iter().filter(|x| !visible.contains(x)).take(k);
        baseline_hits += u64::from(baseline.clone().any(|&x| x == hidden));

        scores.clear();
        for &anchor in &visible {
            for n in model.neighbours(anchor) {
                if !visible.contains(&n.item) {
                    let score = scores.entry(n.item).or_insert(0.0);
                    *score = combine([*score, copurchase_relevance(n)]);
                }
            }
        }
        let mut ranked: Vec<(ItemId, f64)> = scores.iter().map(|(&x, &s)| (x, s)).collect();
        ranked.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let mut top: Vec<ItemId> = ranked.iter().take(k).map(|&(x, _)| x).collect();
        for &x in baseline {
            if top.len() == k {
                break;
            }
            if !top.contains(&x) {
                top.push(x);
            }
        }
        model_hits += u64::from(top.contains(&hidden));
    }
    let rate = |hits: u64| hits as f64 / tested.max(1) as f64;
    EvalResult {
        train_baskets: model.basket_count(),
        test_baskets: tested,
        k,
        model_hits,
        baseline_hits,
        model_hit_rate: rate(model_hits),
        baseline_hit_rate: rate(baseline_hits),
    }
}
