//! Which touchpoints may earn credit for a conversion, and why the others may not.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;
use crate::ids::PartnerId;
use crate::money::Currency;

/// A merchant's order as attribution sees it: who bought, when, and for how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub id: Uuid,
    pub merchant_id: PartnerId,
    pub customer_ref: String,
    pub click_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub currency: Currency,
    /// The amount to attribute, in the currency's minor units.
    pub amount_minor: i64,
}

/// What kind of contact a partner had with the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TouchpointKind {
    Impression,
    Click,
    Referral,
}

/// One recorded contact between a partner and a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touchpoint {
    pub id: Uuid,
    pub partner_id: PartnerId,
    pub kind: TouchpointKind,
    pub occurred_at: DateTime<Utc>,
    pub customer_ref: Option<String>,
    pub click_id: Option<String>,
    /// Recorded from a known bot user agent: kept for the record, never credited.
    pub bot: bool,
}

/// How a partnership treats impressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy", content = "factor")]
pub enum ImpressionPolicy {
    /// Impressions weigh as much as clicks and referrals.
    Count,
    /// Impressions earn nothing.
    Exclude,
    /// An impression's model weight is multiplied by this factor in (0, 1].
    DownWeight(Decimal),
}

/// The attribution side of one partner's partnership with the converting merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerTerms {
    pub active: bool,
    /// How many days before the conversion a touchpoint still counts.
    pub window_days: u32,
    pub impressions: ImpressionPolicy,
    /// Customer references that are the partner itself: its own orders and
    /// referrals of itself earn nothing.
    pub own_customer_refs: BTreeSet<String>,
}

impl PartnerTerms {
    /// Terms with a window in whole days, refusing a non-positive window or a
    /// down-weight factor outside (0, 1].
    pub fn new(
        active: bool,
        window_days: u32,
        impressions: ImpressionPolicy,
        own_customer_refs: BTreeSet<String>,
    ) -> Result<Self, ValidationError> {
        if window_days == 0 {
            return Err(ValidationError::new(
                "attribution_window_days",
                "must be at least 1",
            ));
        }
        if let ImpressionPolicy::DownWeight(f) = impressions
            && (f <= Decimal::ZERO || f > Decimal::ONE)
        {
            return Err(ValidationError::new(
                "impression_factor",
                "must be greater than 0 and at most 1",
            ));
        }
        Ok(PartnerTerms {
            active,
            window_days,
            impressions,
            own_customer_refs,
        })
    }
}

/// Why a touchpoint earns nothing. The first that applies, in this order, is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    Bot,
    MerchantOwnTouchpoint,
    NoActivePartnership,
    AfterConversion,
    OutsideWindow,
    OtherCustomer,
    SelfReferral,
    ImpressionExcluded,
}

/// A touchpoint that earns nothing, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub touchpoint_id: Uuid,
    pub partner_id: PartnerId,
    pub reason: ExclusionReason,
}

/// A touchpoint that may earn credit, with the factor its model weight is multiplied by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligible {
    pub touchpoint: Touchpoint,
    pub factor: Decimal,
}

/// The touchpoints split into those that may earn credit (oldest first, ties by
/// id) and those that may not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    pub eligible: Vec<Eligible>,
    pub excluded: Vec<Exclusion>,
}

/// Sorts candidate touchpoints into eligible and excluded for `conversion`.
/// `terms` holds the partnership terms of each partner with the merchant; a partner
/// missing from it has no partnership.
pub fn eligibility(
    conversion: &Conversion,
    touchpoints: &[Touchpoint],
    terms: &BTreeMap<PartnerId, PartnerTerms>,
) -> Eligibility {
    let mut eligible = Vec::new();
    let mut excluded = Vec::new();
    for t in touchpoints {
        match judge(conversion, t, terms.get(&t.partner_id)) {
            Ok(factor) => eligible.push(Eligible {
                touchpoint: t.clone(),
                factor,
            }),
            Err(reason) => excluded.push(Exclusion {
                touchpoint_id: t.id,
                partner_id: t.partner_id,
                reason,
            }),
        }
    }
    eligible.sort_by_key(|e| (e.touchpoint.occurred_at, e.touchpoint.id));
    excluded.sort_by_key(|e| e.touchpoint_id);
    Eligibility { eligible, excluded }
}

fn judge(
    conversion: &Conversion,
    t: &Touchpoint,
    terms: Option<&PartnerTerms>,
) -> Result<Decimal, ExclusionReason> {
    use ExclusionReason::*;
    if t.bot {
        return Err(Bot);
    }
    if t.partner_id == conversion.merchant_id {
        return Err(MerchantOwnTouchpoint);
    }
    let terms = terms.filter(|p| p.active).ok_or(NoActivePartnership)?;
    if t.occurred_at > conversion.occurred_at {
        return Err(AfterConversion);
    }
    if conversion.occurred_at - t.occurred_at > TimeDelta::days(i64::from(terms.window_days)) {
        return Err(OutsideWindow);
    }
    let same_customer = t.customer_ref.as_deref() == Some(conversion.customer_ref.as_str());
    let same_click = t.click_id.is_some() && t.click_id == conversion.click_id;
    if !same_customer && !same_click {
        return Err(OtherCustomer);
    }
    let buys_itself = terms.own_customer_refs.contains(&conversion.customer_ref);
    let refers_itself = t.kind == TouchpointKind::Referral
        && t.customer_ref
            .as_ref()
            .is_some_and(|c| terms.own_customer_refs.contains(c));
    if buys_itself || refers_itself {
        return Err(SelfReferral);
    }
    match (t.kind, terms.impressions) {
        (TouchpointKind::Impression, ImpressionPolicy::Exclude) => Err(ImpressionExcluded),
        (TouchpointKind::Impression, ImpressionPolicy::DownWeight(f)) => Ok(f),
        _ => Ok(Decimal::ONE),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn pid(n: u128) -> PartnerId {
        PartnerId(id(n))
    }

    fn touch(n: u128, partner: u128, kind: TouchpointKind, day: u32) -> Touchpoint {
        Touchpoint {
            id: id(n),
            partner_id: pid(partner),
            kind,
            occurred_at: at(day),
            customer_ref: Some("cust".into()),
            click_id: None,
            bot: false,
        }
    }

    #[test]
    fn every_exclusion_has_its_reason() {
        use ExclusionReason::*;
        use TouchpointKind::*;
        let conversion = Conversion {
            id: id(1000),
            merchant_id: pid(1),
            customer_ref: "cust".into(),
            click_id: Some("clk".into()),
            occurred_at: at(20),
            currency: Currency::parse("EUR").unwrap(),
            amount_minor: 10_000,
        };
        let active = |p: ImpressionPolicy| PartnerTerms::new(true, 7, p, BTreeSet::new()).unwrap();
        let mut terms = BTreeMap::new();
        terms.insert(pid(2), active(ImpressionPolicy::DownWeight(dec!(0.5))));
        terms.insert(pid(3), active(ImpressionPolicy::Exclude));
        terms.insert(
            pid(4),
            PartnerTerms {
                active: false,
                ..active(ImpressionPolicy::Count)
            },
        );
        terms.insert(
            pid(5),
            PartnerTerms::new(
                true,
                7,
                ImpressionPolicy::Count,
                ["self".to_string()].into(),
            )
            .unwrap(),
        );
        let mut bot = touch(10, 2, Click, 19);
        bot.bot = true;
        let mut by_click = touch(17, 2, Click, 18);
        by_click.customer_ref = None;
        by_click.click_id = Some("clk".into());
        let mut other = touch(18, 2, Click, 18);
        other.customer_ref = Some("someone".into());
        let mut self_ref = touch(19, 5, Referral, 18);
        self_ref.customer_ref = Some("self".into());
        self_ref.click_id = Some("clk".into());
        let touches = vec![
            bot,
            touch(11, 1, Click, 19),
            touch(12, 4, Click, 19),
            touch(13, 9, Click, 19),
            touch(14, 2, Click, 21),
            touch(15, 2, Click, 12),
            touch(16, 3, Impression, 19),
            by_click,
            other,
            self_ref,
            touch(20, 2, Impression, 13),
            touch(21, 5, Referral, 19),
        ];
        let e = eligibility(&conversion, &touches, &terms);
        let reasons: Vec<(u128, ExclusionReason)> = e
            .excluded
            .iter()
            .map(|x| (x.touchpoint_id.as_u128(), x.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (10, Bot),
                (11, MerchantOwnTouchpoint),
                (12, NoActivePartnership),
                (13, NoActivePartnership),
                (14, AfterConversion),
                (15, OutsideWindow),
                (16, ImpressionExcluded),
                (18, OtherCustomer),
                (19, SelfReferral),
            ]
        );
        let kept: Vec<(u128, Decimal)> = e
            .eligible
            .iter()
            .map(|x| (x.touchpoint.id.as_u128(), x.factor))
            .collect();
        // Oldest first; the impression exactly 7 days old is still inside the window.
        assert_eq!(kept, vec![(20, dec!(0.5)), (17, dec!(1)), (21, dec!(1))]);
    }

    #[test]
    fn bad_terms_are_refused() {
        let none = BTreeSet::new();
        assert!(PartnerTerms::new(true, 0, ImpressionPolicy::Count, none.clone()).is_err());
        assert!(
            PartnerTerms::new(true, 7, ImpressionPolicy::DownWeight(dec!(0)), none.clone())
                .is_err()
        );
        assert!(PartnerTerms::new(true, 7, ImpressionPolicy::DownWeight(dec!(1.5)), none).is_err());
    }
}
