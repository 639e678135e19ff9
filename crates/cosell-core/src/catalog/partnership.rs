//! Partnerships: the agreement that lets one partner's offers target another's products.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::parse_percent;
use crate::attribution::{BuiltinModel, ImpressionPolicy};
use crate::money::parse_amount_in;
use crate::plugin::PluginRef;
use crate::{Currency, PartnerId, PartnershipId, ValidationErrors};

/// The life of a partnership: invited → active → ended, or invited → declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnershipStatus {
    Invited,
    Active,
    Declined,
    Ended,
}

impl PartnershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnershipStatus::Invited => "invited",
            PartnershipStatus::Active => "active",
            PartnershipStatus::Declined => "declined",
            PartnershipStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Invited, Self::Active, Self::Declined, Self::Ended]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Invited and active partnerships are open: a pair of partners may have only one.
    pub fn is_open(self) -> bool {
        matches!(self, PartnershipStatus::Invited | PartnershipStatus::Active)
    }
}

/// What the inviter pays the invitee for referred conversions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommissionTerms {
    /// Percentage of attributed revenue, if any.
    pub percent: Option<Decimal>,
    /// Flat amount per attributed conversion, if any.
    pub flat: Option<Decimal>,
    pub currency: Currency,
    pub attribution_window_days: i32,
    pub hold_days: i32,
    /// Optional terms beyond the base rate; none unless the partnership sets them.
    pub extra: ExtraTerms,
}

/// A percentage that applies once the partner's attributed revenue in the settlement
/// period reaches `from` (in the partnership's currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPercent {
    pub from: Decimal,
    pub percent: Decimal,
}

/// Per-category and tiered percentages, a cap per conversion, the attribution model
/// and how impressions count. Category beats tier beats base (see `commission`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtraTerms {
    pub category_percent: BTreeMap<String, Decimal>,
    /// Ascending by `from`.
    pub tiers: Vec<TierPercent>,
    pub cap: Option<Decimal>,
    /// `None`: the merchant's default model. With `model_plugin`, the model used
    /// when the plugin cannot answer.
    pub model: Option<BuiltinModel>,
    /// An attribution plugin that weighs partners instead of `model`.
    pub model_plugin: Option<PluginRef>,
    /// A commission plugin that computes the commission instead of these terms; the
    /// terms still apply when it cannot answer.
    pub commission_plugin: Option<PluginRef>,
    /// `None`: impressions count like clicks.
    pub impressions: Option<ImpressionPolicy>,
}

impl ExtraTerms {
    /// Refuses percentages outside 0–100, tiers that do not ascend, a negative or too
    /// finely divided cap and a down-weight outside (0, 1]; amounts are in `currency`,
    /// the partnership's. Callable before the base terms are known to be valid, so that
    /// one answer lists every bad field.
    pub fn check(&self, currency: Currency) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for (category, p) in &self.category_percent {
            errors.take(parse_percent(&format!("category_rates.{category}"), *p));
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            errors.take(parse_percent(&format!("tiers[{i}].percent"), tier.percent));
            let field = format!("tiers[{i}].from");
            if errors
                .take(currency.parse_amount(&field, tier.from))
                .is_none()
            {
                continue;
            }
            let prev = i.checked_sub(1).and_then(|p| self.tiers.get(p));
            if prev.is_some_and(|p| p.from >= tier.from) {
                errors.push(field, "tiers must ascend from 0 or more");
            }
        }
        if let Some(cap) = self.cap {
            errors.take(currency.parse_amount("cap_per_conversion", cap));
        }
        if let Some(ImpressionPolicy::DownWeight(f)) = self.impressions
            && (f <= Decimal::ZERO || f > Decimal::ONE)
        {
            errors.push(
                "impression_policy.factor",
                "must be greater than 0 and at most 1",
            );
        }
        errors.into_result()
    }
}

impl CommissionTerms {
    /// These terms with `extra`, once [`ExtraTerms::check`] accepts it.
    pub fn with_extra(mut self, extra: ExtraTerms) -> Result<Self, ValidationErrors> {
        extra.check(self.currency)?;
        self.extra = extra;
        Ok(self)
    }

    pub fn parse(
        percent: Option<Decimal>,
        flat: Option<Decimal>,
        currency: &str,
        attribution_window_days: i32,
        hold_days: i32,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let currency = errors.take(Currency::parse(currency));
        let percent = percent.and_then(|p| errors.take(parse_percent("commission_percent", p)));
        if let Some(flat) = flat {
            errors.take(parse_amount_in("commission_flat", flat, currency));
        }
        if percent.is_none() && flat.is_none() && errors.0.is_empty() {
            errors.push(
                "commission_percent",
                "give a commission percentage, a flat amount, or both",
            );
        }
        if !(1..=365).contains(&attribution_window_days) {
            errors.push("attribution_window_days", "must be between 1 and 365");
        }
        if !(0..=365).contains(&hold_days) {
            errors.push("hold_days", "must be between 0 and 365");
        }
        match currency {
            Some(currency) if errors.0.is_empty() => Ok(CommissionTerms {
                percent,
                flat,
                currency,
                attribution_window_days,
                hold_days,
                extra: ExtraTerms::default(),
            }),
            _ => Err(errors),
        }
    }
}

/// A partnership as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partnership {
    pub id: PartnershipId,
    pub inviter_id: PartnerId,
    pub invitee_id: PartnerId,
    pub status: PartnershipStatus,
    pub terms: CommissionTerms,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change of state a party asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnershipAction {
    Accept,
    Decline,
    End,
}

/// Why a partnership cannot move as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnershipRuleError {
    #[error("only the invited partner can accept or decline an invitation")]
    NotInvitee,
    #[error("a partnership that is {from} cannot be {action}")]
    InvalidTransition {
        from: &'static str,
        action: &'static str,
    },
    #[error("a partner cannot invite itself")]
    SelfInvite,
}

impl Partnership {
    /// Whether `partner` is one of the two parties.
    pub fn involves(&self, partner: PartnerId) -> bool {
        self.inviter_id == partner || self.invitee_id == partner
    }

    /// The state after `actor` applies `action`, or why it may not.
    pub fn transition(
        &self,
        actor: PartnerId,
        action: PartnershipAction,
    ) -> Result<PartnershipStatus, PartnershipRuleError> {
        use PartnershipAction::*;
        use PartnershipStatus::*;
        let invalid = |action| PartnershipRuleError::InvalidTransition {
            from: self.status.as_str(),
            action,
        };
        match (action, self.status) {
            (Accept | Decline, _) if actor != self.invitee_id => {
                Err(PartnershipRuleError::NotInvitee)
            }
            (Accept, Invited) => Ok(Active),
            (Decline, Invited) => Ok(Declined),
            (End, Invited | Active) => Ok(Ended),
            (Accept, _) => Err(invalid("accepted")),
            (Decline, _) => Err(invalid("declined")),
            (End, _) => Err(invalid("ended")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn invited() -> Partnership {
        Partnership {
            id: PartnershipId::new(),
            inviter_id: PartnerId::new(),
            invitee_id: PartnerId::new(),
            status: PartnershipStatus::Invited,
            terms: CommissionTerms::parse(Some(dec!(10)), None, "EUR", 30, 14).unwrap(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn only_the_invitee_accepts() {
        let p = invited();
        assert_eq!(
            p.transition(p.inviter_id, PartnershipAction::Accept),
            Err(PartnershipRuleError::NotInvitee)
        );
        assert_eq!(
            p.transition(p.invitee_id, PartnershipAction::Accept),
            Ok(PartnershipStatus::Active)
        );
    }

    #[test]
    fn ended_and_declined_are_final() {
        let p = Partnership {
            status: PartnershipStatus::Ended,
            ..invited()
        };
        assert!(
            p.transition(p.invitee_id, PartnershipAction::Accept)
                .is_err()
        );
        assert!(p.transition(p.inviter_id, PartnershipAction::End).is_err());
        let d = Partnership {
            status: PartnershipStatus::Declined,
            ..invited()
        };
        assert!(d.transition(d.inviter_id, PartnershipAction::End).is_err());
    }

    #[test]
    fn terms_need_a_rate_and_sane_days() {
        assert!(CommissionTerms::parse(None, None, "EUR", 30, 0).is_err());
        assert!(CommissionTerms::parse(None, Some(dec!(2.5)), "JPY", 30, 0).is_err());
        let errors = CommissionTerms::parse(Some(dec!(120)), None, "EUR", 0, -1).unwrap_err();
        assert_eq!(errors.0.len(), 3);
    }

    #[test]
    fn term_amounts_fit_the_currency_and_the_bound() {
        let terms = CommissionTerms::parse(Some(dec!(10)), None, "EUR", 30, 0).unwrap();
        let tiers = |from| ExtraTerms {
            tiers: vec![TierPercent {
                from,
                percent: dec!(10),
            }],
            ..ExtraTerms::default()
        };
        let fine = terms.clone().with_extra(tiers(dec!(100.001))).unwrap_err();
        assert_eq!(fine.0[0].field, "tiers[0].from");
        assert!(fine.0[0].message.contains("decimal places"), "{fine}");
        let huge = terms.clone().with_extra(tiers(dec!(1000000000000.01)));
        assert!(huge.is_err());
        assert!(terms.clone().with_extra(tiers(dec!(100.01))).is_ok());
        let flat = CommissionTerms::parse(None, Some(dec!(2000000000000)), "EUR", 30, 0);
        assert_eq!(flat.unwrap_err().0[0].field, "commission_flat");
    }
}
