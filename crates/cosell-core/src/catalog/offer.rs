//! Offers: a partner's product published as a complement to anchor products or a category.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{parse_percent, parse_text};
use crate::{OfferId, PartnerId, ProductId, ValidationErrors};

/// Where an offer may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Checkout,
    PostPurchaseEmail,
    Support,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Checkout,
        Channel::PostPurchaseEmail,
        Channel::Support,
        Channel::Phone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Checkout => "checkout",
            Channel::PostPurchaseEmail => "post_purchase_email",
            Channel::Support => "support",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// draft → active ⇄ paused → archived. Archived is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Draft,
    Active,
    Paused,
    Archived,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Draft => "draft",
            OfferStatus::Active => "active",
            OfferStatus::Paused => "paused",
            OfferStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Active, Self::Paused, Self::Archived]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// The state `publish`, `pause` or `archive` leads to, or `None` when not allowed from here.
    pub fn after(self, action: OfferAction) -> Option<OfferStatus> {
        use OfferAction::*;
        use OfferStatus::*;
        match (action, self) {
            (Publish, Draft | Paused) => Some(Active),
            (Pause, Active) => Some(Paused),
            (Archive, Draft | Active | Paused) => Some(Archived),
            _ => None,
        }
    }
}

/// A change of an offer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferAction {
    Publish,
    Pause,
    Archive,
}

impl OfferAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferAction::Publish => "published",
            OfferAction::Pause => "paused",
            OfferAction::Archive => "archived",
        }
    }
}

/// The validated, writable terms of an offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferTerms {
    pub product_id: ProductId,
    /// The partner whose products or category the offer complements (the offerer itself or a partner).
    pub anchor_partner_id: PartnerId,
    pub anchor_product_ids: Vec<ProductId>,
    pub anchor_category: Option<String>,
    pub discount_percent: Decimal,
    pub channels: Vec<Channel>,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub per_customer_cap: Option<i32>,
}

/// Unchecked offer input.
#[derive(Debug, Clone)]
pub struct OfferInput {
    pub product_id: ProductId,
    pub anchor_partner_id: PartnerId,
    pub anchor_product_ids: Vec<ProductId>,
    pub anchor_category: Option<String>,
    pub discount_percent: Decimal,
    pub channels: Vec<Channel>,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub per_customer_cap: Option<i32>,
}

impl OfferTerms {
    pub fn parse(input: OfferInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let discount_percent =
            errors.take(parse_percent("discount_percent", input.discount_percent));
        let anchor_category = input
            .anchor_category
            .and_then(|c| errors.take(parse_text("anchor_category", &c, 100)));
        let mut anchors = input.anchor_product_ids;
        anchors.sort();
        anchors.dedup();
        if anchors.is_empty() && anchor_category.is_none() {
            errors.push(
                "anchor_product_ids",
                "give anchor products, an anchor category, or both",
            );
        }
        if anchors.len() > 100 {
            errors.push("anchor_product_ids", "at most 100 anchor products");
        }
        if anchors.contains(&input.product_id) {
            errors.push(
                "anchor_product_ids",
                "an offer cannot anchor on its own product",
            );
        }
        let mut channels = input.channels;
        channels.sort();
        channels.dedup();
        if channels.is_empty() {
            errors.push("channels", "give at least one channel");
        }
        if let Some(to) = input.valid_to
            && to <= input.valid_from
        {
            errors.push("valid_to", "must be after valid_from");
        }
        if let Some(cap) = input.per_customer_cap
            && cap < 1
        {
            errors.push("per_customer_cap", "must be at least 1");
        }
        match discount_percent {
            Some(discount_percent) if errors.0.is_empty() => Ok(OfferTerms {
                product_id: input.product_id,
                anchor_partner_id: input.anchor_partner_id,
                anchor_product_ids: anchors,
                anchor_category,
                discount_percent,
                channels,
                valid_from: input.valid_from,
                valid_to: input.valid_to,
                per_customer_cap: input.per_customer_cap,
            }),
            _ => Err(errors),
        }
    }
}

/// An offer as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    pub id: OfferId,
    pub partner_id: PartnerId,
    pub status: OfferStatus,
    pub terms: OfferTerms,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn input() -> OfferInput {
        OfferInput {
            product_id: ProductId::new(),
            anchor_partner_id: PartnerId::new(),
            anchor_product_ids: vec![ProductId::new()],
            anchor_category: None,
            discount_percent: dec!(10),
            channels: vec![Channel::Checkout, Channel::Checkout],
            valid_from: Utc::now(),
            valid_to: None,
            per_customer_cap: Some(1),
        }
    }

    #[test]
    fn channels_are_deduplicated() {
        assert_eq!(
            OfferTerms::parse(input()).unwrap().channels,
            [Channel::Checkout]
        );
    }

    #[test]
    fn an_offer_needs_an_anchor_a_channel_and_a_forward_window() {
        let now = Utc::now();
        let errors = OfferTerms::parse(OfferInput {
            anchor_product_ids: vec![],
            channels: vec![],
            valid_from: now,
            valid_to: Some(now),
            per_customer_cap: Some(0),
            ..input()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "anchor_product_ids",
                "channels",
                "valid_to",
                "per_customer_cap"
            ]
        );
    }

    #[test]
    fn status_machine() {
        use OfferAction::*;
        assert_eq!(OfferStatus::Draft.after(Publish), Some(OfferStatus::Active));
        assert_eq!(OfferStatus::Active.after(Pause), Some(OfferStatus::Paused));
        assert_eq!(
            OfferStatus::Paused.after(Publish),
            Some(OfferStatus::Active)
        );
        assert_eq!(OfferStatus::Draft.after(Pause), None);
        assert_eq!(OfferStatus::Archived.after(Publish), None);
        assert_eq!(OfferStatus::Archived.after(Archive), None);
    }
}
