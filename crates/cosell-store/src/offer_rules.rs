//! Offers' suitability rules: customer attributes an offer requires, and customer
//! relationships with the offering partner that rule it out (conflicts of interest).

use cosell_core::catalog::OfferStatus;
use cosell_core::{OfferId, ValidationErrors};
use cosell_reco::EligibilityRule;
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};

use crate::entities::offer_rule;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError, Tenant};

const TABLE: &str = "offer_rules";

/// An offer's rules; both lists empty means anyone may see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferRules {
    /// `region in [EU, UK]` or `verified = true`, all of which the customer must meet.
    pub eligibility: Vec<String>,
    /// Relationship kinds (e.g. `auditor`) whose holders may not receive the offer.
    pub excluded_relationships: Vec<String>,
}

impl OfferRules {
    /// The eligibility rules parsed; each must be well-formed.
    pub fn parsed(&self) -> Result<Vec<EligibilityRule>, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let rules = self
            .eligibility
            .iter()
            .filter_map(|text| errors.take(EligibilityRule::parse(text)))
            .collect();
        if self
            .excluded_relationships
            .iter()
            .any(|k| k.trim().is_empty())
        {
            errors.push(
                "excluded_relationships",
                "a relationship kind cannot be empty",
            );
        }
        errors.into_result().map(|()| rules)
    }
}

pub(crate) fn from_row(m: &offer_rule::Model) -> Result<OfferRules, StoreError> {
    let list = |text: &str| -> Result<Vec<String>, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::corrupt(TABLE, e))
    };
    Ok(OfferRules {
        eligibility: list(&m.eligibility)?,
        excluded_relationships: list(&m.excluded_relationships)?,
    })
}

impl Store {
    /// Replaces the rules of an offer the tenant owns; an archived offer is final, its
    /// rules included, as `update_offer` has it.
    pub async fn set_offer_rules(
        &self,
        tenant: Tenant,
        offer: OfferId,
        rules: OfferRules,
    ) -> Result<OfferRules, StoreError> {
        if self.get_offer(tenant, offer).await?.status == OfferStatus::Archived {
            return Err(StoreError::conflict(
                "offer_archived",
                "an archived offer cannot be changed, its rules included",
            ));
        }
        rules.parsed()?;
        let text = |list: &[String]| {
            serde_json::to_string(list).map_err(|e| StoreError::corrupt(TABLE, e))
        };
        let row = offer_rule::ActiveModel {
            offer_id: Set(offer.0),
            eligibility: Set(text(&rules.eligibility)?),
            excluded_relationships: Set(text(&rules.excluded_relationships)?),
        };
        offer_rule::Entity::insert(row)
            .on_conflict(
                OnConflict::column(offer_rule::Column::OfferId)
                    .update_columns([
                        offer_rule::Column::Eligibility,
                        offer_rule::Column::ExcludedRelationships,
                    ])
                    .to_owned(),
            )
            .exec(self.db())
            .await?;
        Ok(rules)
    }

    /// The rules of an offer the tenant owns (empty when none were set).
    pub async fn offer_rules(
        &self,
        tenant: Tenant,
        offer: OfferId,
    ) -> Result<OfferRules, StoreError> {
        self.get_offer(tenant, offer).await?;
        match offer_rule::Entity::find_by_id(offer.0)
            .at_most_one_row(self.db())
            .await?
        {
            Some(m) => from_row(&m),
            None => Ok(OfferRules::default()),
        }
    }
}
