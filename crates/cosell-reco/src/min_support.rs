//! The minimum support of mining, and the one parser every entry point reads it with
//! (`cosell serve --model-min-support` and `COSELL_MODEL_MIN_SUPPORT`, `cosell import
//! baskets --min-support`, `cosell eval recommendations --min-support`).

use std::fmt;
use std::str::FromStr;

/// The minimum number of baskets an item or a pair must appear in to be frequent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinSupport {
    /// A share of the baskets in basis points (100 = 1%), rounded up to whole baskets:
    /// 1% of 9,835 baskets is 98.35, so 99 baskets, as Borgelt's FP-growth counts it.
    BasisPoints(u32),
    /// An absolute number of baskets.
    Count(u32),
}

impl MinSupport {
    /// The minimum basket count for `baskets` baskets, never below one.
    pub fn min_count(self, baskets: u64) -> u32 {
        let count = match self {
            // Integer arithmetic: a float product like 0.01 × 10,000 can land a hair
            // above 100 and round up to 101.
            MinSupport::BasisPoints(bp) => (baskets * u64::from(bp)).div_ceil(10_000),
            MinSupport::Count(c) => u64::from(c),
        };
        u32::try_from(count.max(1)).unwrap_or(u32::MAX)
    }
}

/// A minimum support that mining cannot use, with the text given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a whole number of baskets, 1 or more, not `{0}`")]
pub struct MinSupportError(String);

/// A number of baskets, as a flag or a variable gives it (`10`). 0 is refused: mining
/// took it as 1 without a word, which counts every item and every pair that occurs at
/// all as frequent, the most memory a file can make it use; someone who writes 0 most
/// likely meant "no minimum" or "off", neither of which exists.
impl FromStr for MinSupport {
    type Err = MinSupportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<u32>() {
            Ok(count) if count >= 1 => Ok(MinSupport::Count(count)),
            _ => Err(MinSupportError(text.to_owned())),
        }
    }
}

/// `10 baskets`, `1.00% of baskets`.
impl fmt::Display for MinSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinSupport::Count(count) => write!(f, "{count} baskets"),
            MinSupport::BasisPoints(bp) => {
                write!(f, "{}.{:02}% of baskets", bp / 100, bp % 100)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_round_up_to_whole_baskets() {
        assert_eq!(MinSupport::BasisPoints(100).min_count(9835), 99);
        assert_eq!(MinSupport::BasisPoints(50).min_count(21891), 110);
        assert_eq!(MinSupport::BasisPoints(100).min_count(10_000), 100);
        assert_eq!(MinSupport::Count(0).min_count(10), 1);
    }

    #[test]
    fn a_count_of_one_or_more_baskets_is_parsed() {
        assert_eq!("1".parse(), Ok(MinSupport::Count(1)));
        assert_eq!("10".parse(), Ok(MinSupport::Count(10)));
        assert_eq!("4294967295".parse(), Ok(MinSupport::Count(u32::MAX)));
    }

    #[test]
    fn what_mining_cannot_use_is_refused_naming_the_text() {
        for text in ["0", "-1", "", " 10", "1.5", "1%", "ten", "4294967296"] {
            let refused = text.parse::<MinSupport>().unwrap_err();
            assert_eq!(
                refused.to_string(),
                format!("expected a whole number of baskets, 1 or more, not `{text}`")
            );
        }
    }

    #[test]
    fn a_minimum_support_says_what_it_counts() {
        assert_eq!(MinSupport::Count(10).to_string(), "10 baskets");
        assert_eq!(MinSupport::BasisPoints(50).to_string(), "0.50% of baskets");
    }
}
