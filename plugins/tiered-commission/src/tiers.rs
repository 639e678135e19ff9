//! Tier configuration and the commission arithmetic, independent of the ABI.

use cosell_plugin_sdk::abi::{CommissionLine, CommissionRequest, CommissionResponse};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

/// The plugin's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiersConfig {
    /// Tiers in ascending order; the last one has no upper bound.
    pub tiers: Vec<Tier>,
    /// How rates apply; marginal by default.
    #[serde(default)]
    pub mode: Mode,
    /// Decimal places commission amounts are rounded to (half away from zero).
    #[serde(default = "default_decimals")]
    pub decimals: u32,
}

fn default_decimals() -> u32 {
    2
}

/// One band of period revenue and its rate.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Inclusive upper bound of period revenue for this rate; `None` for the last tier.
    pub up_to: Option<Decimal>,
    /// Rate as a fraction, e.g. `"0.05"` for 5%.
    pub rate: Decimal,
}

/// How tier rates apply to a conversion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each part of the amount is paid at the rate of the tier it falls in
    /// (like income tax bands).
    #[default]
    Marginal,
    /// The whole amount is paid at the rate of the tier the partner's period
    /// revenue reaches with this conversion.
    WholeAmount,
}

/// A validated tier table.
#[derive(Clone, Debug)]
pub struct TieredCommission {
    tiers: Vec<Tier>,
    mode: Mode,
    decimals: u32,
}

impl TieredCommission {
    /// Checks the tiers: at least one, rates in `[0, 1]`, bounds strictly
    /// ascending and positive, only the last tier unbounded.
    pub fn new(config: TiersConfig) -> Result<Self, String> {
        let TiersConfig {
            tiers,
            mode,
            decimals,
        } = config;
        let Some((last, bounded)) = tiers.split_last() else {
            return Err("at least one tier is required".into());
        };
        if last.up_to.is_some() {
            return Err("the last tier must have no `up_to`".into());
        }
        let mut previous = Decimal::ZERO;
        for (index, tier) in bounded.iter().enumerate() {
            let up_to = tier
                .up_to
                .ok_or_else(|| format!("tier {} needs an `up_to`", index + 1))?;
            if up_to <= previous {
                return Err(format!(
                    "tier {} ends at {up_to}, not above {previous}",
                    index + 1
                ));
            }
            previous = up_to;
        }
        if let Some(bad) = tiers
            .iter()
            .find(|t| t.rate < Decimal::ZERO || t.rate > Decimal::ONE)
        {
            return Err(format!("rate {} is not between 0 and 1", bad.rate));
        }
        Ok(Self {
            tiers,
            mode,
            decimals,
        })
    }

    /// Commission lines for one partner's share of a conversion.
    pub fn lines(&self, request: &CommissionRequest) -> Result<CommissionResponse, String> {
        let amount = request.attributed_amount;
        let start = request.period.attributed_revenue;
        if amount < Decimal::ZERO || start < Decimal::ZERO {
            return Err("attributed amount and period revenue must be non-negative".into());
        }
        let end = start + amount;
        let line = |index: usize, rate: Decimal, base: Decimal| CommissionLine {
            amount: (base * rate)
                .round_dp_with_strategy(self.decimals, RoundingStrategy::MidpointAwayFromZero),
            currency: request.conversion.currency.clone(),
            description: format!(
                "{}% of {base} (tier {})",
                (rate * Decimal::ONE_HUNDRED).normalize(),
                index + 1
            ),
        };
        let lines = match self.mode {
            Mode::Marginal => self
                .bands()
                .enumerate()
                .filter_map(|(index, (low, high, rate))| {
                    let top = high.map_or(end, |high| high.min(end));
                    let portion = top - low.max(start);
                    (portion > Decimal::ZERO).then(|| line(index, rate, portion))
                })
                .collect(),
            Mode::WholeAmount if amount > Decimal::ZERO => {
                let (index, (_, _, rate)) = self
                    .bands()
                    .enumerate()
                    .find(|(_, (_, high, _))| high.is_none_or(|high| end <= high))
                    .ok_or("the tier table has no unbounded tier")?;
                vec![line(index, rate, amount)]
            }
            Mode::WholeAmount => Vec::new(),
        };
        Ok(CommissionResponse { lines })
    }

    /// `(lower bound, upper bound, rate)` of each tier.
    fn bands(&self) -> impl Iterator<Item = (Decimal, Option<Decimal>, Decimal)> + '_ {
        let lows = std::iter::once(Decimal::ZERO).chain(self.tiers.iter().filter_map(|t| t.up_to));
        lows.zip(&self.tiers)
            .map(|(low, tier)| (low, tier.up_to, tier.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosell_plugin_sdk::abi::{Conversion, PeriodTotals};
    use rust_decimal_macros::dec;

    fn rule(mode: &str) -> TieredCommission {
        let json = format!(
            r#"{{"tiers":[{{"up_to":"10000","rate":"0.05"}},{{"up_to":null,"rate":"0.07"}}],"mode":"{mode}"}}"#
        );
        let config: TiersConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        TieredCommission::new(config).unwrap_or_else(|e| panic!("{e}"))
    }

    fn request(before: Decimal, amount: Decimal) -> CommissionRequest {
        CommissionRequest {
            conversion: Conversion {
                id: "c1".into(),
                amount,
                currency: "EUR".into(),
                occurred_at: "2026-01-01T00:00:00Z"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
            },
            partner_id: "p1".into(),
            weight: Decimal::ONE,
            attributed_amount: amount,
            period: PeriodTotals {
                attributed_revenue: before,
                conversions: 3,
            },
        }
    }

    fn amounts(response: &CommissionResponse) -> Vec<Decimal> {
        response.lines.iter().map(|l| l.amount).collect()
    }

    #[test]
    fn marginal_splits_an_amount_across_the_threshold() -> Result<(), String> {
        let lines = rule("marginal").lines(&request(dec!(9600), dec!(1000)))?;
        // 400 at 5% and 600 at 7%.
        assert_eq!(amounts(&lines), [dec!(20.00), dec!(42.00)]);
        assert_eq!(lines.lines[0].description, "5% of 400 (tier 1)");
        assert_eq!(lines.lines[1].currency, "EUR");
        Ok(())
    }

    #[test]
    fn whole_amount_uses_the_tier_reached() -> Result<(), String> {
        let whole = rule("whole_amount");
        assert_eq!(
            amounts(&whole.lines(&request(dec!(9600), dec!(1000)))?),
            [dec!(70.00)]
        );
        // Reaching exactly 10,000 stays in the first tier (bounds are inclusive).
        assert_eq!(
            amounts(&whole.lines(&request(dec!(9000), dec!(1000)))?),
            [dec!(50.00)]
        );
        assert!(
            whole
                .lines(&request(dec!(10), Decimal::ZERO))?
                .lines
                .is_empty()
        );
        Ok(())
    }

    #[test]
    fn amounts_round_half_away_from_zero() -> Result<(), String> {
        assert_eq!(
            amounts(&rule("marginal").lines(&request(dec!(0), dec!(0.10)))?),
            [dec!(0.01)]
        );
        Ok(())
    }

    #[test]
    fn bad_tier_tables_are_refused() {
        let tier = |up_to: Option<Decimal>, rate: Decimal| Tier { up_to, rate };
        let config = |tiers| TiersConfig {
            tiers,
            mode: Mode::Marginal,
            decimals: 2,
        };
        for tiers in [
            vec![],
            vec![tier(Some(dec!(10)), dec!(0.1))],
            vec![
                tier(Some(dec!(10)), dec!(0.1)),
                tier(Some(dec!(5)), dec!(0.1)),
                tier(None, dec!(0.1)),
            ],
            vec![tier(None, dec!(1.5))],
            vec![tier(None, dec!(0.1)), tier(None, dec!(0.1))],
        ] {
            assert!(TieredCommission::new(config(tiers)).is_err());
        }
    }

    #[test]
    fn negative_inputs_are_refused() {
        assert!(rule("marginal").lines(&request(dec!(-1), dec!(5))).is_err());
    }
}
