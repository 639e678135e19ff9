//! The fitted value function: the conversion rate of each coalition of partners.

use cosell_plugin_sdk::abi::Journey;
use std::collections::{BTreeSet, HashMap};

/// Conversion rate per coalition, where a journey's coalition is the set of
/// distinct partners that touched it. Coalitions never seen are worth 0.
#[derive(Clone, Debug, Default)]
pub struct CoalitionRates {
    partners: HashMap<String, u32>,
    rates: HashMap<Vec<u32>, f64>,
}

impl CoalitionRates {
    /// Counts journeys and conversions per coalition; journeys without partners are ignored.
    pub fn fit(journeys: &[Journey]) -> Self {
        let mut partners: HashMap<String, u32> = HashMap::new();
        let mut counts: HashMap<Vec<u32>, (u64, u64)> = HashMap::new();
        for journey in journeys {
            let coalition: BTreeSet<u32> = journey
                .partners
                .iter()
                .map(|p| {
                    let next = u32::try_from(partners.len()).unwrap_or(u32::MAX);
                    *partners.entry(p.clone()).or_insert(next)
                })
                .collect();
            if coalition.is_empty() {
                continue;
            }
            let (seen, converted) = counts.entry(coalition.into_iter().collect()).or_default();
            *seen += 1;
            *converted += u64::from(journey.converted);
        }
        // Rates are statistics, not money: f64 is fine here.
        let rates = counts
            .into_iter()
            .map(|(coalition, (seen, converted))| (coalition, converted as f64 / seen as f64))
            .collect();
        Self { partners, rates }
    }

    /// Number of distinct partners seen in the fitted journeys.
    pub fn partner_count(&self) -> usize {
        self.partners.len()
    }

    /// The value function restricted to `players` (a conversion's partners).
    pub fn game(&self, players: &[&str]) -> Game<'_> {
        let ids = players
            .iter()
            .map(|p| self.partners.get(*p).copied())
            .collect();
        Game {
            ids,
            rates: &self.rates,
        }
    }
}

/// A cooperative game over one conversion's partners, valued by [`CoalitionRates`].
pub struct Game<'a> {
    ids: Vec<Option<u32>>,
    rates: &'a HashMap<Vec<u32>, f64>,
}

impl Game<'_> {
    /// Number of players.
    pub fn players(&self) -> usize {
        self.ids.len()
    }

    /// The rate of the coalition of the given players (indices into the
    /// player list); 0 for the empty coalition and for coalitions never seen.
    pub fn value(&self, members: impl IntoIterator<Item = usize>) -> f64 {
        let mut key = Vec::new();
        for member in members {
            // A partner never seen in fitting makes the coalition unseen.
            let Some(Some(id)) = self.ids.get(member) else {
                return 0.0;
            };
            key.push(*id);
        }
        key.sort_unstable();
        self.rates.get(&key).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journey(partners: &[&str], converted: bool) -> Journey {
        Journey {
            partners: partners.iter().map(|p| (*p).to_owned()).collect(),
            converted,
        }
    }

    #[test]
    fn rates_are_per_distinct_partner_set() {
        let rates = CoalitionRates::fit(&[
            journey(&["a", "b", "a"], true),
            journey(&["b", "a"], false),
            journey(&["a"], true),
            journey(&[], true),
        ]);
        assert_eq!(rates.partner_count(), 2);
        let game = rates.game(&["a", "b", "zed"]);
        assert_eq!(game.value([1, 0]), 0.5);
        assert_eq!(game.value([0]), 1.0);
        assert_eq!(game.value([1]), 0.0);
        assert_eq!(game.value([0, 1, 2]), 0.0);
        assert_eq!(game.value([]), 0.0);
    }
}
