//! The recommender: guardrails first, then candidates from relations, partner offers,
//! bundles and co-purchase neighbours, the exclusion rules, the score and diversity.
//! Pure: everything it needs is in the catalog, the model and the request.

use std::fmt;

use cosell_core::catalog::RelationKind;
use cosell_core::{BundleId, Money, OfferId, PartnerId, ProductId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::fxhash::{FxHashMap, FxHashSet};
use crate::input::{
    Catalog, Channel, CustomerProfile, DEFAULT_LIMIT, MAX_LIMIT, Moment, Offer, Product,
    RecommenderConfig, Request, Satisfaction,
};
use crate::model::CoPurchaseModel;
use crate::score::{
    BUNDLE_RELEVANCE, OFFER_RELEVANCE, combine, copurchase_relevance, relation_relevance,
    value_factor,
};
use candidate::{Candidate, Clue, Grounds, Why};

/// Why nobody is pitched anything: the answer is empty on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    OpenComplaint,
    AtRisk,
    ChronicReturner,
    Unprofitable,
    NoConsent,
    ChannelNotPreferred,
    ContactCapReached,
}

impl Suppression {
    /// The stable snake_case reason code.
    pub fn code(self) -> &'static str {
        match self {
            Suppression::OpenComplaint => "open_complaint",
            Suppression::AtRisk => "at_risk",
            Suppression::ChronicReturner => "chronic_returner",
            Suppression::Unprofitable => "unprofitable",
            Suppression::NoConsent => "no_consent",
            Suppression::ChannelNotPreferred => "channel_not_preferred",
            Suppression::ContactCapReached => "contact_cap_reached",
        }
    }
}

/// Why an item is recommended, in words a customer or a merchant can read.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    Related {
        kind: RelationKind,
        anchor: String,
    },
    BoughtTogether {
        anchor: String,
        support: f64,
        lift: f64,
    },
    PartnerOffer {
        partner: String,
        discount_percent: Decimal,
    },
    Bundle {
        anchor: String,
        saving: Money,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Related { kind, anchor } => match kind {
                RelationKind::Accessory => write!(f, "accessory of {anchor}"),
                RelationKind::Complementary => write!(f, "goes well with {anchor}"),
                RelationKind::BundleMember => write!(f, "sold in a bundle with {anchor}"),
                RelationKind::Upgrade => write!(f, "upgrade of {anchor}"),
                RelationKind::Competing => write!(f, "alternative to {anchor}"),
            },
            Reason::BoughtTogether {
                anchor,
                support,
                lift,
            } => write!(
                f,
                "bought together with {anchor} in {:.1}% of baskets, {lift:.1}× more often than chance",
                support * 100.0
            ),
            Reason::PartnerOffer {
                partner,
                discount_percent,
            } => write!(
                f,
                "partner offer from {partner}, {}% off",
                discount_percent.normalize()
            ),
            Reason::Bundle { anchor, saving } => {
                write!(f, "bundle with {anchor}, saves {saving}")
            }
        }
    }
}

/// What is recommended: a product (possibly through a partner offer) or a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Product(ProductId),
    Bundle(BundleId),
}

/// One ranked item of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub subject: Subject,
    /// The partner selling it.
    pub partner: PartnerId,
    /// The partner offer it comes through, to attribute the sale.
    pub offer: Option<OfferId>,
    /// The price the customer pays, after any discount.
    pub price: Money,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// The answer: ranked items, or a reason nothing may be shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Suppressed(Suppression),
    Items(Vec<Recommendation>),
}

/// The first guardrail the customer trips on this channel, if any. Order: satisfaction,
/// returns, profitability, consent, channel preference, contact cap.
pub fn suppression(
    customer: Option<&CustomerProfile>,
    channel: Channel,
    config: &RecommenderConfig,
) -> Option<Suppression> {
    let Some(c) = customer else {
        // An anonymous visitor gave no consent to be emailed or called.
        return (channel != Channel::Web).then_some(Suppression::NoConsent);
    };
    match c.satisfaction {
        Satisfaction::OpenComplaint => return Some(Suppression::OpenComplaint),
        Satisfaction::AtRisk => return Some(Suppression::AtRisk),
        Satisfaction::Ok => {}
    }
    if c.return_rate > config.return_rate_threshold {
        Some(Suppression::ChronicReturner)
    } else if c.service_cost > c.revenue {
        Some(Suppression::Unprofitable)
    } else if !c.consents.contains(&channel) {
        Some(Suppression::NoConsent)
    } else if channel == Channel::Phone && c.preferred_channel != Some(Channel::Phone) {
        Some(Suppression::ChannelNotPreferred)
    } else if c.shown_last_7_days.len() >= config.contact_cap as usize {
        Some(Suppression::ContactCapReached)
    } else {
        None
    }
}

/// Whether `offer` may be shown to this customer on this channel now.
fn offer_allowed(offer: &Offer, req: &Request<'_>) -> bool {
    let live = !offer.paused
        && offer.valid_from <= req.now
        && offer.valid_until.is_none_or(|end| req.now < end);
    if !live || !offer.channels.contains(&req.channel) {
        return false;
    }
    let Some(c) = req.customer else {
        // Without a profile no eligibility rule can be checked, so none may exist.
        return offer.eligibility.is_empty();
    };
    let shown = c
        .shown_last_7_days
        .iter()
        .filter(|i| i.offer == Some(offer.id))
        .count();
    offer
        .per_customer_cap
        .is_none_or(|cap| shown < cap as usize)
        && offer.eligibility.iter().all(|r| r.admits(&c.attributes))
        && !c
            .relationships
            .iter()
            .any(|r| r.partner == offer.partner && offer.excluded_relationships.contains(&r.kind))
}

/// Ranks recommendations for `req`, or says which guardrail suppresses them.
pub fn recommend(
    catalog: &Catalog,
    model: &CoPurchaseModel,
    req: &Request<'_>,
    config: &RecommenderConfig,
) -> Outcome {
    if let Some(s) = suppression(req.customer, req.channel, config) {
        return Outcome::Suppressed(s);
    }
    let mut limit = req.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    if req.moment == Moment::SupportResolved {
        // Right after a fix, one suggestion at most: the conversation is about service.
        limit = 1;
    }
    if let Some(c) = req.customer {
        let left = (config.contact_cap as usize).saturating_sub(c.shown_last_7_days.len());
        limit = limit.min(left);
    }

    let (mut clues, competing) = gather_clues(catalog, model, req, config);
    // Stable: a product's clues stay in the order they were found, which is the order
    // of its reasons. Keyed by the id as an integer, which orders as its bytes do and
    // compares in one instruction instead of a call to memcmp.
    clues.sort_by_key(|c| c.product.0.as_u128());
    let in_cart: FxHashSet<ProductId> = req.anchors.iter().map(|a| a.product).collect();
    let replaced_categories: FxHashSet<&str> = req
        .anchors
        .iter()
        .filter(|a| !a.accessory_type)
        .map(|a| a.category.as_str())
        .collect();
    let mut ranked: Vec<Candidate> = Vec::new();
    for product_clues in clues.chunk_by(|a, b| a.product == b.product) {
        let pid = product_clues[0].product;
        let Some(p) = catalog.product(pid) else {
            continue;
        };
        let excluded = !p.active
            || p.price.currency != req.currency
            || in_cart.contains(&pid)
            || req.customer.is_some_and(|c| c.purchased.contains(&pid))
            || competing.contains(&pid)
            || replaced_categories.contains(p.category.as_str());
        if excluded {
            continue;
        }
        ranked.extend(rank_product(catalog, p, product_clues, req, config));
    }
    ranked.extend(bundles(catalog, req, &in_cart, &competing, config));
    ranked.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| subject_key(x.subject).cmp(&subject_key(y.subject)))
    });
    Outcome::Items(
        diversify(ranked, limit, config.max_per_category)
            .into_iter()
            .map(|c| c.into_recommendation(req.anchors))
            .collect(),
    )
}

/// Every clue the anchors give (relations, co-purchase neighbours, anchored partner
/// offers), and the products that compete with an anchor.
fn gather_clues(
    catalog: &Catalog,
    model: &CoPurchaseModel,
    req: &Request<'_>,
    config: &RecommenderConfig,
) -> (Vec<Clue>, FxHashSet<ProductId>) {
    let mut clues = Vec::with_capacity(req.anchors.len() * (config.neighbours_per_anchor + 4));
    let mut competing: FxHashSet<ProductId> = FxHashSet::default();
    let mut anchor_offers: Vec<usize> = Vec::new();
    for (index, anchor) in req.anchors.iter().enumerate() {
        for link in catalog.links.get(&anchor.product).into_iter().flatten() {
            if link.kind == RelationKind::Competing {
                competing.insert(link.to);
                continue;
            }
            // A relation weighted 0 is declared but carries no evidence.
            let relevance = relation_relevance(link.kind, link.weight);
            if relevance > 0.0 {
                clues.push(Clue {
                    product: link.to,
                    relevance,
                    why: Why::Related {
                        kind: link.kind,
                        anchor: index,
                    },
                });
            }
        }
        let item = anchor.item_key.as_deref().and_then(|k| model.item_id(k));
        for n in item
            .map(|i| model.neighbours(i))
            .unwrap_or_default()
            .iter()
            .take(config.neighbours_per_anchor)
        {
            let Some(&product) = catalog.by_item_key.get(model.name(n.item)) else {
                continue;
            };
            let relevance = copurchase_relevance(n);
            if relevance > 0.0 {
                clues.push(Clue {
                    product,
                    relevance,
                    why: Why::BoughtTogether {
                        anchor: index,
                        support: n.support,
                        lift: n.lift,
                    },
                });
            }
        }
        anchor_offers.extend(
            catalog
                .offers_by_anchor
                .get(&anchor.product)
                .into_iter()
                .flatten(),
        );
    }
    // An offer anchored on two products of the cart is still one piece of evidence.
    anchor_offers.sort_unstable();
    anchor_offers.dedup();
    for &i in &anchor_offers {
        if offer_allowed(&catalog.offers[i], req) {
            clues.push(Clue {
                product: catalog.offers[i].product,
                relevance: OFFER_RELEVANCE,
                why: Why::AnchoredOffer,
            });
        }
    }
    (clues, competing)
}

fn subject_key(subject: Subject) -> (u8, u128) {
    match subject {
        Subject::Product(id) => (0, id.0.as_u128()),
        Subject::Bundle(id) => (1, id.0.as_u128()),
    }
}

/// Scores one product that passed the exclusions: through its best allowed partner
/// offer (commission) when it has one, else on the merchant's own margin when the
/// merchant owns it.
fn rank_product<'c>(
    catalog: &'c Catalog,
    p: &'c Product,
    clues: &'c [Clue],
    req: &Request<'_>,
    config: &RecommenderConfig,
) -> Option<Candidate<'c>> {
    let best_offer = catalog
        .offers_by_product
        .get(&p.id)
        .into_iter()
        .flatten()
        .map(|&i| &catalog.offers[i])
        .filter(|o| offer_allowed(o, req))
        .map(|o| {
            let price = p.price.less_percent(o.discount_percent);
            (o, price, o.commission)
        })
        .max_by(|x, y| x.2.cmp(&y.2).then(y.0.id.cmp(&x.0.id)));
    let has_reasons = clues.iter().any(|c| !matches!(c.why, Why::AnchoredOffer));
    let (offer, price, expected) = match best_offer {
        Some((o, price, commission)) => (Some(o), price, commission),
        // Evidence from an anchored offer alone, or another partner's product with no
        // offer this customer may see: nothing the merchant can sell here.
        None if !has_reasons || p.owner != req.merchant => return None,
        None => (None, p.price, p.price.amount - p.unit_cost.amount),
    };
    // A product sold at a loss (or earning nothing) is never pushed, however relevant.
    if expected <= Decimal::ZERO {
        return None;
    }
    let relevance = combine(clues.iter().map(|c| c.relevance));
    Some(Candidate {
        subject: Subject::Product(p.id),
        partner: offer.map_or(p.owner, |o| o.partner),
        offer,
        price,
        score: relevance * value_factor(expected, config.value_scale),
        category: p.category.as_str(),
        grounds: Grounds::Clues(clues),
    })
}

/// Bundles holding an anchor whose other members may all be recommended, at the
/// bundle price, kept only while that price still clears the bundle's margin floor.
fn bundles<'c>(
    catalog: &'c Catalog,
    req: &Request<'_>,
    in_cart: &FxHashSet<ProductId>,
    competing: &FxHashSet<ProductId>,
    config: &RecommenderConfig,
) -> Vec<Candidate<'c>> {
    let mut seen = FxHashSet::default();
    let mut out = Vec::new();
    for (index, anchor) in req.anchors.iter().enumerate() {
        for &i in catalog
            .bundles_by_member
            .get(&anchor.product)
            .into_iter()
            .flatten()
        {
            let b = &catalog.bundles[i];
            if !seen.insert(b.id) || !b.active || b.price.currency != req.currency {
                continue;
            }
            let members: Option<Vec<&Product>> =
                b.members.iter().map(|m| catalog.product(*m)).collect();
            let Some(members) = members else { continue };
            // A member repriced in another currency cannot be summed with the others.
            let others_ok = members.iter().all(|m| {
                m.active
                    && m.price.currency == b.price.currency
                    && !competing.contains(&m.id)
                    && (in_cart.contains(&m.id)
                        || !req.customer.is_some_and(|c| c.purchased.contains(&m.id)))
            });
            let cost: Decimal = members.iter().map(|m| m.unit_cost.amount).sum();
            let list: Decimal = members.iter().map(|m| m.price.amount).sum();
            let margin = b.price.amount - cost;
            // All members already in the cart: nothing left to propose.
            let adds = members.iter().any(|m| !in_cart.contains(&m.id));
            if !others_ok || !adds || margin < b.margin_floor.amount || margin <= Decimal::ZERO {
                continue;
            }
            out.push(Candidate {
                subject: Subject::Bundle(b.id),
                partner: b.owner,
                offer: None,
                price: b.price,
                score: BUNDLE_RELEVANCE * value_factor(margin, config.value_scale),
                category: "bundle",
                grounds: Grounds::Bundle {
                    anchor: index,
                    saving: Money {
                        amount: list - b.price.amount,
                        currency: b.price.currency,
                    },
                },
            });
        }
    }
    out
}

/// Picks from the ranked list keeping at most `per_category` items of one category;
/// when that leaves slots empty, fills them with the best remaining items anyway.
fn diversify(ranked: Vec<Candidate>, limit: usize, per_category: usize) -> Vec<Candidate> {
    let mut taken: FxHashMap<&str, usize> = FxHashMap::default();
    let mut picked = vec![false; ranked.len()];
    let mut order = Vec::new();
    for (i, candidate) in ranked.iter().enumerate() {
        if order.len() == limit {
            break;
        }
        let n = taken.entry(candidate.category).or_insert(0);
        if *n < per_category {
            *n += 1;
            picked[i] = true;
            order.push(i);
        }
    }
    for (i, p) in picked.iter_mut().enumerate() {
        if order.len() == limit {
            break;
        }
        if !*p {
            *p = true;
            order.push(i);
        }
    }
    let mut slots: Vec<Option<Candidate>> = ranked.into_iter().map(Some).collect();
    order.sort_by_key(|&i| i);
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

mod candidate;
#[cfg(test)]
mod tests;
