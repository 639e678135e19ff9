//! What a credited referrer may see of an attribution. The merchant sees everything; a
//! partner the conversion credited sees its own touchpoints, exclusions and share, and
//! the rest only as a sum: how many other partners and eligible touchpoints, their
//! weight and amount. Other partners' ids and touchpoint ids stay hidden, so a referrer
//! learns why it got its share without learning who its competitors are.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Attribution;
use crate::ids::PartnerId;

/// The other partners' part of an attribution, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OthersShare {
    /// Other credited partners.
    pub partners: usize,
    /// Other partners' eligible touchpoints (0 when a plugin weighed partners).
    pub touchpoints: usize,
    pub weight: Decimal,
    pub amount_minor: i64,
}

impl Attribution {
    /// This attribution as `partner` may see it: its own entries, the rest summed.
    pub fn seen_by(mut self, partner: PartnerId) -> (Attribution, OthersShare) {
        let mut others = OthersShare::default();
        for p in self.partners.iter().filter(|p| p.partner_id != partner) {
            others.partners += 1;
            others.weight += p.weight;
            others.amount_minor += p.amount_minor;
        }
        others.touchpoints = self
            .touchpoints
            .iter()
            .filter(|t| t.partner_id != partner)
            .count();
        self.partners.retain(|p| p.partner_id == partner);
        self.touchpoints.retain(|t| t.partner_id == partner);
        self.excluded.retain(|e| e.partner_id == partner);
        (self, others)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;
    use uuid::Uuid;

    use super::*;
    use crate::Currency;
    use crate::attribution::{
        BuiltinModel, Conversion, ImpressionPolicy, PartnerTerms, Touchpoint, TouchpointKind,
        attribute, eligibility,
    };

    #[test]
    fn a_referrer_sees_its_own_part_and_the_rest_summed() {
        let (me, rival, outsider) = (
            PartnerId(Uuid::from_u128(1)),
            PartnerId(Uuid::from_u128(2)),
            PartnerId(Uuid::from_u128(3)),
        );
        let at = |m| Utc.with_ymd_and_hms(2026, 3, 1, 12, m, 0).unwrap();
        let touch = |id: u128, partner, minute| Touchpoint {
            id: Uuid::from_u128(id),
            partner_id: partner,
            kind: TouchpointKind::Click,
            occurred_at: at(minute),
            customer_ref: Some("c".into()),
            click_id: None,
            bot: false,
        };
        let conversion = Conversion {
            id: Uuid::from_u128(9),
            merchant_id: PartnerId(Uuid::from_u128(8)),
            customer_ref: "c".into(),
            click_id: None,
            occurred_at: at(30),
            currency: Currency::parse("EUR").unwrap(),
            amount_minor: 10_001,
        };
        let terms =
            PartnerTerms::new(true, 30, ImpressionPolicy::Count, Default::default()).unwrap();
        let touches = [
            touch(10, me, 1),
            touch(11, rival, 2),
            touch(12, rival, 3),
            touch(13, me, 40),
            touch(14, outsider, 4),
        ];
        let found = eligibility(
            &conversion,
            &touches,
            &[(me, terms.clone()), (rival, terms)].into(),
        );
        let full = attribute(&conversion, found, &BuiltinModel::Linear).unwrap();
        let (mine, others) = full.clone().seen_by(me);
        // Linear over three touches: a third each; 100.01 splits 33.34 / 66.67.
        assert_eq!(mine.partners.len(), 1);
        assert_eq!(mine.partners[0].partner_id, me);
        assert_eq!(mine.partners[0].amount_minor, 3_334);
        assert_eq!(
            mine.touchpoints
                .iter()
                .map(|t| t.touchpoint_id)
                .collect::<Vec<_>>(),
            vec![Uuid::from_u128(10)]
        );
        // My touch after the sale is explained; the outsider's exclusion is not mine.
        assert_eq!(
            mine.excluded
                .iter()
                .map(|e| e.touchpoint_id)
                .collect::<Vec<_>>(),
            vec![Uuid::from_u128(13)]
        );
        assert_eq!(
            others,
            OthersShare {
                partners: 1,
                touchpoints: 2,
                weight: full.partners[1].weight,
                amount_minor: 6_667,
            }
        );
        assert_eq!(mine.partners[0].weight + others.weight, dec!(1));
    }
}
