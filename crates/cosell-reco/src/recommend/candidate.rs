//! Candidates between ranking and the answer: the evidence for each is kept as numbers
//! and indexes, and only the few that make the answer are put into words.

use cosell_core::catalog::RelationKind;
use cosell_core::{Money, PartnerId, ProductId};

use super::{Reason, Recommendation, Subject};
use crate::input::{Anchor, Offer};

/// One piece of evidence for a candidate product, kept as numbers until the candidate
/// makes the answer. Most candidates are ranked and dropped; putting each piece into
/// words (with a copy of the anchor's name) for all of them cost more than ranking them.
pub(super) struct Clue {
    pub product: ProductId,
    pub relevance: f64,
    pub why: Why,
}

/// What a clue says; `anchor` is an index into the request's anchors.
#[derive(Clone, Copy)]
pub(super) enum Why {
    Related {
        kind: RelationKind,
        anchor: usize,
    },
    BoughtTogether {
        anchor: usize,
        support: f64,
        lift: f64,
    },
    /// A partner offer anchored on a product of the cart: relevance only. The offer's
    /// reason is given once it is the offer the product is sold through.
    AnchoredOffer,
}

/// What a candidate's reasons are made of.
pub(super) enum Grounds<'c> {
    /// A product's clues, in the order they were found.
    Clues(&'c [Clue]),
    Bundle {
        anchor: usize,
        saving: Money,
    },
}

/// A ranked candidate, not yet put into words.
pub(super) struct Candidate<'c> {
    pub subject: Subject,
    pub partner: PartnerId,
    pub offer: Option<&'c Offer>,
    pub price: Money,
    pub score: f64,
    pub category: &'c str,
    pub grounds: Grounds<'c>,
}

impl Candidate<'_> {
    pub fn into_recommendation(self, anchors: &[Anchor]) -> Recommendation {
        let name = |i: usize| anchors[i].name.clone();
        let mut reasons: Vec<Reason> = match self.grounds {
            Grounds::Clues(clues) => clues
                .iter()
                .filter_map(|c| match c.why {
                    Why::Related { kind, anchor } => Some(Reason::Related {
                        kind,
                        anchor: name(anchor),
                    }),
                    Why::BoughtTogether {
                        anchor,
                        support,
                        lift,
                    } => Some(Reason::BoughtTogether {
                        anchor: name(anchor),
                        support,
                        lift,
                    }),
                    Why::AnchoredOffer => None,
                })
                .collect(),
            Grounds::Bundle { anchor, saving } => vec![Reason::Bundle {
                anchor: name(anchor),
                saving,
            }],
        };
        if let Some(o) = self.offer {
            reasons.push(Reason::PartnerOffer {
                partner: o.partner_name.clone(),
                discount_percent: o.discount_percent,
            });
        }
        Recommendation {
            subject: self.subject,
            partner: self.partner,
            offer: self.offer.map(|o| o.id),
            price: self.price,
            score: self.score,
            reasons,
        }
    }
}
