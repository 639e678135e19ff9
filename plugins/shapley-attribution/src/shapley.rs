//! Shapley values of a game: exact up to [`EXACT_LIMIT`] players, sampled above.

use crate::coalitions::Game;

/// Largest number of players computed exactly (2^12 = 4,096 coalitions).
pub const EXACT_LIMIT: usize = 12;

/// Each player's Shapley value in `game`. Exact up to [`EXACT_LIMIT`] players;
/// above, the mean marginal contribution over `samples` random orderings,
/// drawn from a generator seeded with `seed` so that the same conversion is
/// always credited the same way.
pub fn shapley_values(game: &Game<'_>, samples: u32, seed: u64) -> Vec<f64> {
    if game.players() <= EXACT_LIMIT {
        exact(game)
    } else {
        sampled(game, samples.max(1), seed)
    }
}

/// φᵢ = Σ over coalitions S without i of |S|!·(n−|S|−1)!/n! · (v(S∪{i}) − v(S)).
fn exact(game: &Game<'_>) -> Vec<f64> {
    let n = game.players();
    let members = |mask: usize| (0..n).filter(move |bit| mask & (1 << bit) != 0);
    let values: Vec<f64> = (0..1usize << n)
        .map(|mask| game.value(members(mask)))
        .collect();
    // weight[s] = s!(n−s−1)!/n!, built as a product to stay in range.
    let weight: Vec<f64> = (0..n)
        .map(|s| {
            let (s, n) = (s as f64, n as f64);
            1.0 / (n * binomial(n - 1.0, s))
        })
        .collect();
    (0..n)
        .map(|player| {
            let bit = 1 << player;
            (0..values.len())
                .filter(|mask| mask & bit == 0)
                .map(|mask| {
                    weight[mask.count_ones() as usize] * (values[mask | bit] - values[mask])
                })
                .sum()
        })
        .collect()
}

/// C(n, k) for small n, as a float.
fn binomial(n: f64, k: f64) -> f64 {
    (0..k as u32).fold(1.0, |acc, i| {
        acc * (n - f64::from(i)) / (f64::from(i) + 1.0)
    })
}

/// Monte-Carlo estimate: the mean, over random orderings of the players, of
/// each player's marginal contribution to the players before it.
fn sampled(game: &Game<'_>, samples: u32, seed: u64) -> Vec<f64> {
    let n = game.players();
    let mut rng = SplitMix64(seed);
    let mut totals = vec![0.0; n];
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..samples {
        // Fisher–Yates shuffle.
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut before = 0.0;
        for (position, &player) in order.iter().enumerate() {
            let after = game.value(order[..=position].iter().copied());
            totals[player] += after - before;
            before = after;
        }
    }
    totals.into_iter().map(|t| t / f64::from(samples)).collect()
}

/// SplitMix64: a tiny, well-distributed generator; reproducibility matters
/// here, cryptographic quality does not.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (bound is a small player count; the modulo bias is negligible).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coalitions::CoalitionRates;
    use cosell_plugin_sdk::abi::Journey;

    /// `count` journeys through `partners`, of which `converted` converted.
    fn journeys(partners: &[&str], count: usize, converted: usize) -> Vec<Journey> {
        (0..count)
            .map(|i| Journey {
                partners: partners.iter().map(|p| (*p).to_owned()).collect(),
                converted: i < converted,
            })
            .collect()
    }

    fn close(a: &[f64], b: &[f64], tolerance: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
    }

    #[test]
    fn the_readme_example_holds() {
        let data = [
            journeys(&["A"], 10, 2),
            journeys(&["B"], 10, 1),
            journeys(&["A", "B"], 10, 4),
        ]
        .concat();
        let rates = CoalitionRates::fit(&data);
        let values = shapley_values(&rates.game(&["A", "B"]), 1, 0);
        assert!(close(&values, &[0.25, 0.15], 1e-12), "{values:?}");
    }

    #[test]
    fn exact_values_are_efficient_and_symmetric() {
        let data = [
            journeys(&["a"], 10, 1),
            journeys(&["b"], 10, 1),
            journeys(&["a", "b"], 10, 3),
            journeys(&["a", "b", "c"], 10, 6),
        ]
        .concat();
        let rates = CoalitionRates::fit(&data);
        let values = shapley_values(&rates.game(&["a", "b", "c"]), 1, 0);
        assert!((values.iter().sum::<f64>() - 0.6).abs() < 1e-12);
        assert!((values[0] - values[1]).abs() < 1e-12);
    }

    #[test]
    fn sampling_approaches_the_exact_values() {
        let names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
        let mut data = Vec::new();
        for size in 1..=names.len() {
            let members: Vec<&str> = names[..size].iter().map(String::as_str).collect();
            data.extend(journeys(&members, 10, size));
        }
        let rates = CoalitionRates::fit(&data);
        let players: Vec<&str> = names.iter().map(String::as_str).collect();
        let game = rates.game(&players);
        assert!(close(&sampled(&game, 20_000, 7), &exact(&game), 0.01));
    }

    #[test]
    fn large_paths_are_sampled_reproducibly() {
        let names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let players: Vec<&str> = names.iter().map(String::as_str).collect();
        let rates = CoalitionRates::fit(&journeys(&players, 4, 1));
        let game = rates.game(&players);
        let first = shapley_values(&game, 200, 42);
        assert_eq!(first, shapley_values(&game, 200, 42));
        // Efficiency holds for every sampled ordering, so for their mean too.
        assert!((first.iter().sum::<f64>() - 0.25).abs() < 1e-9);
    }
}
