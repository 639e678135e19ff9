//! The recommendation catalog of one merchant, loaded in a fixed handful of queries:
//! its own products, relations and bundles, plus the active offers anchored on it by
//! partners it has an active partnership with (and those partners' offered products).
//! Tenancy is decided here: nothing else of another partner ever reaches the recommender.

use std::collections::HashMap;

use cosell_core::catalog::{
    Channel as OfferChannel, OfferStatus, PartnerStatus, PartnershipStatus, ProductFields,
    RelationKind,
};
use cosell_core::commission::{CommissionBase, CommissionTerms, SaleLine, commission};
use cosell_core::{BundleId, Money, OfferId, PartnerId, ProductId};
use cosell_reco::{Bundle, Catalog, Channel, Offer, Product, Relation};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{Condition, EntityTrait, QueryFilter};

use crate::entities::{
    bundle, bundle_item, offer, offer_anchor, offer_rule, partner, partnership, product,
    product_relation,
};
use crate::money::{currency, decimal};
use crate::offer_rules::{OfferRules, from_row};
use crate::partnerships::to_domain as partnership_domain;
use crate::products::to_domain;
use crate::{Store, StoreError};

/// A product's name in the co-purchase model: its `item_key` attribute, else its SKU.
pub(crate) fn item_key(f: &ProductFields) -> String {
    match f.attributes.get("item_key") {
        Some(serde_json::Value::String(key)) => key.clone(),
        _ => f.sku.clone(),
    }
}

/// The recommender's view of a stored product. Its co-purchase item key is the
/// `item_key` attribute when set (to match names in imported baskets), else its SKU;
/// an `accessory_type: true` attribute marks accessories.
fn reco_product(m: product::Model) -> Result<Product, StoreError> {
    let p = to_domain(m)?;
    let f = p.fields;
    let item_key = item_key(&f);
    Ok(Product {
        id: p.id,
        name: f.title,
        owner: p.partner_id,
        category: f.category,
        price: Money {
            amount: f.price,
            currency: f.currency,
        },
        unit_cost: Money {
            amount: f.unit_cost,
            currency: f.currency,
        },
        active: f.active,
        accessory_type: f.attributes.get("accessory_type") == Some(&serde_json::Value::Bool(true)),
        item_key: Some(item_key),
    })
}

/// The request channel an offer channel serves; `support` has no recommendation channel.
fn request_channel(c: OfferChannel) -> Option<Channel> {
    match c {
        OfferChannel::Checkout => Some(Channel::Web),
        OfferChannel::PostPurchaseEmail => Some(Channel::Email),
        OfferChannel::Phone => Some(Channel::Phone),
        OfferChannel::Support => None,
    }
}

/// What the merchant earns on one sale of `product` through an offer at `discount`: the
/// commission cosell-core computes for a one-line conversion of the discounted price
/// under the partnership's `terms` (category rate, else the tier reached by that sale
/// alone, else the base rate; plus the flat fee; capped). Zero when it cannot be
/// computed (terms in another currency than the product's), so the offer is left out.
fn offer_commission(
    terms: &CommissionTerms,
    product: Option<&Product>,
    discount: Decimal,
) -> Decimal {
    let Some(product) = product else {
        return Decimal::ZERO;
    };
    let price = product.price.less_percent(discount);
    let Ok(amount_minor) = price.currency.to_minor(price.amount) else {
        return Decimal::ZERO;
    };
    let sale = CommissionBase {
        currency: price.currency,
        weight: Decimal::ONE,
        lines: vec![SaleLine {
            category: Some(product.category.clone()),
            amount_minor,
        }],
        period_revenue_minor: amount_minor,
    };
    commission(terms, &sale).map_or(Decimal::ZERO, |c| price.currency.from_minor(c.amount_minor))
}

/// A merchant's recommendation catalog and the names of its bundles, which the
/// recommender does not need but an answer shows.
#[derive(Debug, Clone)]
pub struct MerchantCatalog {
    pub catalog: Catalog,
    pub bundle_names: HashMap<BundleId, String>,
}

impl Store {
    /// Everything the recommender may propose to `merchant`'s customers.
    pub async fn recommendation_catalog(
        &self,
        merchant: PartnerId,
    ) -> Result<MerchantCatalog, StoreError> {
        let db = self.db();
        let m = merchant.0;
        // Partner -> the commission terms of the active partnership in which the merchant
        // pays it (the merchant invited it): only those partners' offers can earn here.
        let mut terms: HashMap<uuid::Uuid, CommissionTerms> = HashMap::new();
        for p in partnership::Entity::find()
            .filter(partnership::COLUMN.inviter_id.eq(m))
            .filter(
                partnership::COLUMN
                    .status
                    .eq(PartnershipStatus::Active.as_str()),
            )
            .all(db)
            .await?
        {
            terms.insert(
                p.invitee_id,
                CommissionTerms::from(&partnership_domain(p)?.terms),
            );
        }
        // A suspended partner sells nothing through Cosell until an operator reinstates it.
        let suspended = partner::Entity::find()
            .filter(partner::COLUMN.id.is_in(terms.keys().copied()))
            .filter(partner::COLUMN.status.ne(PartnerStatus::Active.as_str()))
            .all(db)
            .await?;
        for p in suspended {
            terms.remove(&p.id);
        }
        let partners: Vec<uuid::Uuid> = terms.keys().copied().collect();

        let offers = offer::Entity::find()
            .filter(offer::COLUMN.anchor_partner_id.eq(m))
            .filter(offer::COLUMN.status.eq(OfferStatus::Active.as_str()))
            .filter(offer::COLUMN.partner_id.is_in(partners.iter().copied()))
            .all(db)
            .await?;
        let offer_ids: Vec<uuid::Uuid> = offers.iter().map(|o| o.id).collect();
        let mut anchors: HashMap<uuid::Uuid, Vec<ProductId>> = HashMap::new();
        let mut rules: HashMap<uuid::Uuid, OfferRules> = HashMap::new();
        let mut names: HashMap<uuid::Uuid, String> = HashMap::new();
        if !offers.is_empty() {
            for a in offer_anchor::Entity::find()
                .filter(
                    offer_anchor::COLUMN
                        .offer_id
                        .is_in(offer_ids.iter().copied()),
                )
                .all(db)
                .await?
            {
                anchors
                    .entry(a.offer_id)
                    .or_default()
                    .push(ProductId(a.product_id));
            }
            for r in offer_rule::Entity::find()
                .filter(offer_rule::COLUMN.offer_id.is_in(offer_ids.iter().copied()))
                .all(db)
                .await?
            {
                rules.insert(r.offer_id, from_row(&r)?);
            }
            for p in partner::Entity::find()
                .filter(partner::COLUMN.id.is_in(partners.iter().copied()))
                .all(db)
                .await?
            {
                names.insert(p.id, p.name);
            }
        }

        let products: Vec<Product> = product::Entity::find()
            .filter(
                Condition::any().add(product::COLUMN.partner_id.eq(m)).add(
                    product::COLUMN
                        .id
                        .is_in(offers.iter().map(|o| o.product_id)),
                ),
            )
            .all(db)
            .await?
            .into_iter()
            .map(reco_product)
            .collect::<Result<_, _>>()?;

        let relations = product_relation::Entity::find()
            .filter(product_relation::COLUMN.partner_id.eq(m))
            .all(db)
            .await?
            .into_iter()
            .map(|r| {
                let kind = RelationKind::parse(&r.kind)
                    .ok_or_else(|| StoreError::corrupt("product_relations", &r.kind))?;
                let weight = decimal("product_relations", &r.weight)?
                    .to_f64()
                    .unwrap_or(1.0);
                Relation::new(
                    ProductId(r.from_product_id),
                    ProductId(r.to_product_id),
                    kind,
                    weight,
                )
                .map_err(|e| StoreError::corrupt("product_relations", e))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let bundles = self.reco_bundles(merchant, &products).await?;

        let by_id: HashMap<uuid::Uuid, &Product> = products.iter().map(|p| (p.id.0, p)).collect();
        let offers = offers
            .into_iter()
            .map(|o| {
                let mut on: Vec<ProductId> = anchors.remove(&o.id).unwrap_or_default();
                // An offer anchored on a category sits next to each of its products.
                if let Some(category) = &o.anchor_category {
                    on.extend(
                        products
                            .iter()
                            .filter(|p| p.owner == merchant && &p.category == category)
                            .map(|p| p.id),
                    );
                }
                let r = rules.remove(&o.id).unwrap_or_default();
                let discount = decimal("offers", &o.discount_percent)?;
                let channels = o
                    .channels
                    .split(',')
                    .filter_map(OfferChannel::parse)
                    .filter_map(request_channel)
                    .collect();
                Ok(Offer {
                    id: OfferId(o.id),
                    partner: PartnerId(o.partner_id),
                    partner_name: names.get(&o.partner_id).cloned().unwrap_or_default(),
                    product: ProductId(o.product_id),
                    anchors: on,
                    discount_percent: discount,
                    commission: terms.get(&o.partner_id).map_or(Decimal::ZERO, |t| {
                        offer_commission(t, by_id.get(&o.product_id).copied(), discount)
                    }),
                    channels,
                    paused: false,
                    valid_from: o.valid_from,
                    valid_until: o.valid_to,
                    per_customer_cap: o.per_customer_cap.and_then(|c| u32::try_from(c).ok()),
                    eligibility: r
                        .parsed()
                        .map_err(|e| StoreError::corrupt("offer_rules", format!("{e:?}")))?,
                    excluded_relationships: r.excluded_relationships,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let bundle_names = bundles.iter().map(|b| (b.id, b.name.clone())).collect();
        Ok(MerchantCatalog {
            catalog: Catalog::new(products, &relations, offers, bundles),
            bundle_names,
        })
    }

    /// The merchant's bundles, priced as their terms say: the discount off the members'
    /// summed prices, rounded to the currency's minor units.
    async fn reco_bundles(
        &self,
        merchant: PartnerId,
        products: &[Product],
    ) -> Result<Vec<Bundle>, StoreError> {
        let rows = bundle::Entity::find()
            .filter(bundle::COLUMN.partner_id.eq(merchant.0))
            .all(self.db())
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut members: HashMap<uuid::Uuid, Vec<ProductId>> = HashMap::new();
        for item in bundle_item::Entity::find()
            .filter(
                bundle_item::COLUMN
                    .bundle_id
                    .is_in(rows.iter().map(|b| b.id)),
            )
            .all(self.db())
            .await?
        {
            members
                .entry(item.bundle_id)
                .or_default()
                .push(ProductId(item.product_id));
        }
        let price_of: HashMap<ProductId, Decimal> =
            products.iter().map(|p| (p.id, p.price.amount)).collect();
        rows.into_iter()
            .map(|b| {
                let currency = currency("bundles", &b.currency)?;
                let members = members.remove(&b.id).unwrap_or_default();
                let list: Decimal = members.iter().filter_map(|m| price_of.get(m)).sum();
                let discount = decimal("bundles", &b.discount_percent)?;
                let amount = Money {
                    amount: list,
                    currency,
                }
                .less_percent(discount)
                .amount;
                Ok(Bundle {
                    id: BundleId(b.id),
                    name: b.name,
                    owner: merchant,
                    members,
                    price: Money { amount, currency },
                    margin_floor: Money {
                        amount: currency.from_minor(b.margin_floor_minor),
                        currency,
                    },
                    active: true,
                })
            })
            .collect()
    }
}
