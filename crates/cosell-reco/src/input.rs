//! What the recommender reads: the merchant's catalog (products, relations, partner
//! offers, bundles) indexed once, and the request with its anchors and customer.

use chrono::{DateTime, Utc};
use cosell_core::catalog::RelationKind;
use cosell_core::{BundleId, Currency, Money, OfferId, PartnerId, ProductId, ValidationError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::fxhash::{FxHashMap, FxHashSet};

/// When the recommendation is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    Checkout,
    PostPurchase,
    SupportResolved,
}

/// Where the recommendation is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Email,
    Phone,
}

/// How the customer feels about the merchant right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Ok,
    OpenComplaint,
    AtRisk,
}

/// A sellable product as the recommender needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    /// The partner that sells it (the merchant itself for its own products).
    pub owner: PartnerId,
    pub category: String,
    pub price: Money,
    pub unit_cost: Money,
    pub active: bool,
    /// Accessory-type products (cables, cases) may be followed by more of their kind.
    pub accessory_type: bool,
    /// The product's item name in the co-purchase model, if it has one.
    pub item_key: Option<String>,
}

/// A declared relation between two products, `weight` in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relation {
    pub from: ProductId,
    pub to: ProductId,
    pub kind: RelationKind,
    pub weight: f64,
}

impl Relation {
    /// A relation with its weight checked to lie in [0, 1].
    pub fn new(
        from: ProductId,
        to: ProductId,
        kind: RelationKind,
        weight: f64,
    ) -> Result<Self, ValidationError> {
        if !(0.0..=1.0).contains(&weight) {
            return Err(ValidationError::new(
                "weight",
                format!("relation weight {weight} is not between 0 and 1"),
            ));
        }
        Ok(Relation {
            from,
            to,
            kind,
            weight,
        })
    }
}

/// A customer attribute condition an offer requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EligibilityRule {
    /// `region in [EU, UK]`
    In {
        attribute: String,
        values: Vec<String>,
    },
    /// `verified = true`
    Equals { attribute: String, value: String },
}

impl EligibilityRule {
    /// Parses `attr in [a, b]` or `attr = value`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "eligibility",
                format!("'{text}' is neither 'attribute in [a, b]' nor 'attribute = value'"),
            )
        };
        if let Some((attr, value)) = text.split_once('=') {
            let (attribute, value) = (attr.trim(), value.trim());
            if attribute.is_empty() || value.is_empty() {
                return Err(bad());
            }
            return Ok(EligibilityRule::Equals {
                attribute: attribute.to_owned(),
                value: value.to_owned(),
            });
        }
        let (attr, list) = text.split_once(" in ").ok_or_else(bad)?;
        let list = list
            .trim()
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .ok_or_else(bad)?;
        let values: Vec<String> = list
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        if attr.trim().is_empty() || values.is_empty() {
            return Err(bad());
        }
        Ok(EligibilityRule::In {
            attribute: attr.trim().to_owned(),
            values,
        })
    }

    /// Whether a customer with `attributes` meets the rule; a missing attribute fails.
    pub fn admits(&self, attributes: &FxHashMap<String, String>) -> bool {
        match self {
            EligibilityRule::In { attribute, values } => attributes
                .get(attribute)
                .is_some_and(|v| values.iter().any(|x| x == v)),
            EligibilityRule::Equals { attribute, value } => {
                attributes.get(attribute).is_some_and(|v| v == value)
            }
        }
    }
}

/// A partner's offer of its product next to some anchor products.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub id: OfferId,
    pub partner: PartnerId,
    pub partner_name: String,
    pub product: ProductId,
    /// Products the offer is shown next to.
    pub anchors: Vec<ProductId>,
    /// Percent off the product's price, 0 to 100.
    pub discount_percent: Decimal,
    /// What the merchant earns on one sale through the offer, at the discounted price
    /// ([`crate::discounted`]), in the product's currency: the partnership's rate on that
    /// price plus its flat fee. The caller computes it from the partnership's terms.
    pub commission: Decimal,
    pub channels: Vec<Channel>,
    pub paused: bool,
    pub valid_from: DateTime<Utc>,
    /// Exclusive end; `None` runs until paused.
    pub valid_until: Option<DateTime<Utc>>,
    /// At most this many impressions of the offer per customer in 7 days.
    pub per_customer_cap: Option<u32>,
    pub eligibility: Vec<EligibilityRule>,
    /// Relationship kinds (e.g. `auditor`) whose holders may not receive the offer
    /// from this partner.
    pub excluded_relationships: Vec<String>,
}

/// Products sold together at a discounted price that must keep a minimum margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub id: BundleId,
    pub name: String,
    pub owner: PartnerId,
    pub members: Vec<ProductId>,
    pub price: Money,
    pub margin_floor: Money,
    pub active: bool,
}

/// One directed edge of the relation index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    pub to: ProductId,
    pub kind: RelationKind,
    pub weight: f64,
}

/// The catalog indexed for lookups by product, built once per merchant and reused.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    pub(crate) products: FxHashMap<ProductId, Product>,
    pub(crate) by_item_key: FxHashMap<String, ProductId>,
    pub(crate) links: FxHashMap<ProductId, Vec<Link>>,
    pub(crate) offers: Vec<Offer>,
    pub(crate) offers_by_anchor: FxHashMap<ProductId, Vec<usize>>,
    pub(crate) offers_by_product: FxHashMap<ProductId, Vec<usize>>,
    pub(crate) bundles: Vec<Bundle>,
    pub(crate) bundles_by_member: FxHashMap<ProductId, Vec<usize>>,
}

impl Catalog {
    /// Indexes products, relations (symmetric kinds both ways), offers and bundles.
    pub fn new(
        products: Vec<Product>,
        relations: &[Relation],
        offers: Vec<Offer>,
        bundles: Vec<Bundle>,
    ) -> Self {
        let mut catalog = Catalog::default();
        for p in products {
            if let Some(key) = &p.item_key {
                catalog.by_item_key.insert(key.clone(), p.id);
            }
            catalog.products.insert(p.id, p);
        }
        for r in relations {
            let link = |to| Link {
                to,
                kind: r.kind,
                weight: r.weight,
            };
            catalog.links.entry(r.from).or_default().push(link(r.to));
            if r.kind.is_symmetric() {
                catalog.links.entry(r.to).or_default().push(link(r.from));
            }
        }
        for (i, o) in offers.iter().enumerate() {
            for a in &o.anchors {
                catalog.offers_by_anchor.entry(*a).or_default().push(i);
            }
            catalog
                .offers_by_product
                .entry(o.product)
                .or_default()
                .push(i);
        }
        catalog.offers = offers;
        for (i, b) in bundles.iter().enumerate() {
            for m in &b.members {
                catalog.bundles_by_member.entry(*m).or_default().push(i);
            }
        }
        catalog.bundles = bundles;
        catalog
    }

    /// A product by id.
    pub fn product(&self, id: ProductId) -> Option<&Product> {
        self.products.get(&id)
    }
}

/// A product in the cart or just bought: what the recommendation completes.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchor {
    pub product: ProductId,
    pub name: String,
    pub category: String,
    pub accessory_type: bool,
    /// The anchor's item name in the co-purchase model, if any.
    pub item_key: Option<String>,
}

impl From<&Product> for Anchor {
    fn from(p: &Product) -> Self {
        Anchor {
            product: p.id,
            name: p.name.clone(),
            category: p.category.clone(),
            accessory_type: p.accessory_type,
            item_key: p.item_key.clone(),
        }
    }
}

/// A relationship the customer declared with a partner (e.g. the partner audits it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRelationship {
    pub partner: PartnerId,
    pub kind: String,
}

/// One recommendation shown to the customer, from the impression log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Impression {
    pub product: ProductId,
    pub offer: Option<OfferId>,
}

/// The customer's profile and recent history, as loaded by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerProfile {
    pub satisfaction: Satisfaction,
    pub consents: FxHashSet<Channel>,
    pub preferred_channel: Option<Channel>,
    /// Share of purchases returned, 0 to 1.
    pub return_rate: f64,
    /// What serving the account costs, in the merchant's currency.
    pub service_cost: Decimal,
    /// What the account brings in, same currency and period.
    pub revenue: Decimal,
    pub attributes: FxHashMap<String, String>,
    pub relationships: Vec<CustomerRelationship>,
    /// Recommendations shown in the last 7 days.
    pub shown_last_7_days: Vec<Impression>,
    pub purchased: FxHashSet<ProductId>,
}

impl CustomerProfile {
    /// A satisfied, consenting customer with no history: the starting point of a profile.
    pub fn new(consents: impl IntoIterator<Item = Channel>) -> Self {
        CustomerProfile {
            satisfaction: Satisfaction::Ok,
            consents: consents.into_iter().collect(),
            preferred_channel: None,
            return_rate: 0.0,
            service_cost: Decimal::ZERO,
            revenue: Decimal::ZERO,
            attributes: FxHashMap::default(),
            relationships: Vec::new(),
            shown_last_7_days: Vec::new(),
            purchased: FxHashSet::default(),
        }
    }
}

/// Thresholds of the guardrails and knobs of the score.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommenderConfig {
    /// Customers returning more than this share are not pitched (default 0.3).
    pub return_rate_threshold: f64,
    /// At most this many recommendations per customer in 7 days (default 3).
    pub contact_cap: u32,
    /// At most this many items of one category in the answer while others remain
    /// (default 1).
    pub max_per_category: usize,
    /// Expected value, in currency units, at which the value factor reaches 1.5
    /// (default 50).
    pub value_scale: Decimal,
    /// Co-purchase neighbours considered per anchor, highest lift first (default 20).
    pub neighbours_per_anchor: usize,
}

impl Default for RecommenderConfig {
    fn default() -> Self {
        RecommenderConfig {
            return_rate_threshold: 0.3,
            contact_cap: 3,
            max_per_category: 1,
            value_scale: Decimal::from(50),
            neighbours_per_anchor: 20,
        }
    }
}

/// Default and maximum number of items in an answer.
pub const DEFAULT_LIMIT: usize = 3;
/// The largest answer a caller may ask for.
pub const MAX_LIMIT: usize = 10;

/// One recommendation request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// The merchant asking: its own products are sold on margin, any other partner's
    /// only through an allowed partner offer.
    pub merchant: PartnerId,
    pub anchors: &'a [Anchor],
    /// `None` for an anonymous visitor: only `web` can then be used.
    pub customer: Option<&'a CustomerProfile>,
    pub moment: Moment,
    pub channel: Channel,
    /// Clamped to 1..=10; `None` means 3.
    pub limit: Option<usize>,
    /// Products priced in another currency are left out.
    pub currency: Currency,
    pub now: DateTime<Utc>,
}
