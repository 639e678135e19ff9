//! Offers: a partner's product published as a complement to its own or a partner's anchors.

use std::collections::BTreeMap;

use chrono::Utc;
use cosell_core::catalog::offer::OfferAction;
use cosell_core::catalog::{Channel, Offer, OfferStatus, OfferTerms};
use cosell_core::{OfferId, PartnerId, ProductId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, TransactionTrait,
};

use crate::entities::{offer, offer_anchor};
use crate::expected::unchanged;
use crate::money::decimal;
use crate::products::find_product;
use crate::single_row::AtMostOneRow;
use crate::{Expected, Store, StoreError, Tenant};

const TABLE: &str = "offers";

/// Filters for listing offers.
#[derive(Debug, Clone, Default)]
pub struct OfferFilter {
    pub status: Option<OfferStatus>,
    pub anchor_product_id: Option<ProductId>,
}

fn to_domain(m: offer::Model, anchors: Vec<ProductId>) -> Result<Offer, StoreError> {
    let channels = m
        .channels
        .split(',')
        .map(|c| Channel::parse(c).ok_or_else(|| StoreError::corrupt(TABLE, c)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Offer {
        id: OfferId(m.id),
        partner_id: PartnerId(m.partner_id),
        status: OfferStatus::parse(&m.status)
            .ok_or_else(|| StoreError::corrupt(TABLE, &m.status))?,
        terms: OfferTerms {
            product_id: ProductId(m.product_id),
            anchor_partner_id: PartnerId(m.anchor_partner_id),
            anchor_product_ids: anchors,
            anchor_category: m.anchor_category,
            discount_percent: decimal(TABLE, &m.discount_percent)?,
            channels,
            valid_from: m.valid_from,
            valid_to: m.valid_to,
            per_customer_cap: m.per_customer_cap,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Offers with their anchors: one query for all anchors, however many offers.
async fn with_anchors<C: ConnectionTrait>(
    db: &C,
    rows: Vec<offer::Model>,
) -> Result<Vec<Offer>, StoreError> {
    let mut anchors: BTreeMap<uuid::Uuid, Vec<ProductId>> = BTreeMap::new();
    if !rows.is_empty() {
        let found = offer_anchor::Entity::find()
            .filter(
                offer_anchor::COLUMN
                    .offer_id
                    .is_in(rows.iter().map(|m| m.id)),
            )
            .order_by_asc(offer_anchor::COLUMN.product_id)
            .all(db)
            .await?;
        for a in found {
            anchors
                .entry(a.offer_id)
                .or_default()
                .push(ProductId(a.product_id));
        }
    }
    rows.into_iter()
        .map(|m| {
            let own = anchors.remove(&m.id).unwrap_or_default();
            to_domain(m, own)
        })
        .collect()
}

async fn load<C: ConnectionTrait>(
    db: &C,
    tenant: Tenant,
    id: OfferId,
) -> Result<Offer, StoreError> {
    let m = offer::Entity::find_by_id(id.0)
        .at_most_one_row(db)
        .await?
        .ok_or(StoreError::NotFound("offer"))?;
    if !tenant.sees(PartnerId(m.partner_id)) {
        return Err(StoreError::NotFound("offer"));
    }
    let mut one = with_anchors(db, vec![m]).await?;
    one.pop().ok_or(StoreError::NotFound("offer"))
}

/// Archives `owner`'s offers anchored on `anchor_partner`'s products once the partnership
/// that let `owner` offer there has ended: no one could show them again, the anchor partner
/// cannot see them, and a live one would keep it from deleting its own anchor product. The
/// version moves on, so a publish racing the end fails as stale instead of reviving one.
pub(crate) async fn archive_offers_anchored_on<C: ConnectionTrait>(
    db: &C,
    owner: PartnerId,
    anchor_partner: PartnerId,
) -> Result<(), StoreError> {
    offer::Entity::update_many()
        .set(offer::ActiveModel {
            status: Set(OfferStatus::Archived.as_str().to_owned()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .col_expr(
            offer::Column::Version,
            Expr::col(offer::Column::Version).add(1),
        )
        .filter(offer::COLUMN.partner_id.eq(owner.0))
        .filter(offer::COLUMN.anchor_partner_id.eq(anchor_partner.0))
        .filter(offer::COLUMN.status.ne(OfferStatus::Archived.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

impl Store {
    /// Checks the rules that need stored facts: the product is the owner's, the anchors
    /// belong to the anchor partner, that partner is the owner or pays the owner through an
    /// active partnership, and
    /// the product competes with none of the anchors.
    async fn check_offer(&self, owner: PartnerId, terms: &OfferTerms) -> Result<(), StoreError> {
        find_product(self.db(), Tenant::Partner(owner), terms.product_id).await?;
        // Only the partnership in which the anchor partner invited the owner pays the owner
        // for what it sells there; under the other direction every sale would earn nothing.
        if terms.anchor_partner_id != owner
            && !self
                .partnership_pays(terms.anchor_partner_id, owner)
                .await?
        {
            return Err(StoreError::conflict(
                "no_active_partnership",
                "offers can target another partner's products only under an active partnership \
                 in which that partner invited you (the inviter pays the invitee)",
            ));
        }
        for anchor in &terms.anchor_product_ids {
            let product =
                find_product(self.db(), Tenant::Partner(terms.anchor_partner_id), *anchor)
                    .await
                    .map_err(|_| StoreError::NotFound("anchor product"))?;
            if self.compete(terms.product_id, product.id).await? {
                return Err(StoreError::conflict(
                    "competing_anchor",
                    format!(
                        "the offered product competes with anchor '{}' ({})",
                        product.fields.title, product.id
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn write_offer(
        &self,
        owner: PartnerId,
        id: OfferId,
        status: OfferStatus,
        terms: &OfferTerms,
        version: i32,
    ) -> Result<Offer, StoreError> {
        let now = Utc::now();
        let channels: Vec<_> = terms.channels.iter().map(|c| c.as_str()).collect();
        let row = offer::ActiveModel {
            id: Set(id.0),
            partner_id: Set(owner.0),
            product_id: Set(terms.product_id.0),
            anchor_partner_id: Set(terms.anchor_partner_id.0),
            anchor_category: Set(terms.anchor_category.clone()),
            discount_percent: Set(terms.discount_percent.to_string()),
            channels: Set(channels.join(",")),
            valid_from: Set(terms.valid_from),
            valid_to: Set(terms.valid_to),
            per_customer_cap: Set(terms.per_customer_cap),
            status: Set(status.as_str().to_owned()),
            version: Set(version),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.db().begin().await?;
        if version == 1 {
            offer::Entity::insert(row).exec(&txn).await?;
        } else {
            let mut row = row;
            row.created_at = sea_orm::ActiveValue::NotSet;
            let result = offer::Entity::update_many()
                .set(row)
                .filter(offer::COLUMN.id.eq(id.0))
                .filter(offer::COLUMN.version.eq(version - 1))
                .exec(&txn)
                .await?;
            if result.rows_affected == 0 {
                let current = load(&txn, Tenant::All, id).await?;
                return Err(StoreError::Stale {
                    entity: "offer",
                    current: current.version,
                });
            }
            offer_anchor::Entity::delete_many()
                .filter(offer_anchor::COLUMN.offer_id.eq(id.0))
                .exec(&txn)
                .await?;
        }
        let anchors = terms
            .anchor_product_ids
            .iter()
            .map(|p| offer_anchor::ActiveModel {
                offer_id: Set(id.0),
                product_id: Set(p.0),
            });
        offer_anchor::Entity::insert_many(anchors)
            .exec(&txn)
            .await?;
        let stored = load(&txn, Tenant::All, id).await?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Creates a draft offer.
    pub async fn create_offer(
        &self,
        owner: PartnerId,
        terms: OfferTerms,
    ) -> Result<Offer, StoreError> {
        self.check_offer(owner, &terms).await?;
        self.write_offer(owner, OfferId::new(), OfferStatus::Draft, &terms, 1)
            .await
    }

    pub async fn get_offer(&self, tenant: Tenant, id: OfferId) -> Result<Offer, StoreError> {
        load(self.db(), tenant, id).await
    }

    pub async fn list_offers(
        &self,
        tenant: Tenant,
        filter: OfferFilter,
    ) -> Result<Vec<Offer>, StoreError> {
        let mut query = offer::Entity::find().order_by_asc(offer::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(offer::COLUMN.partner_id.eq(own.0));
        }
        if let Some(status) = filter.status {
            query = query.filter(offer::COLUMN.status.eq(status.as_str()));
        }
        if let Some(anchor) = filter.anchor_product_id {
            let anchored = offer_anchor::Entity::find()
                .select_only()
                .column(offer_anchor::Column::OfferId)
                .filter(offer_anchor::COLUMN.product_id.eq(anchor.0))
                .into_query();
            query = query.filter(offer::COLUMN.id.in_subquery(anchored));
        }
        with_anchors(self.db(), query.all(self.db()).await?).await
    }

    /// Changes an offer's terms if it is the `expected` version; archived offers are final.
    /// Terms left as they are write nothing and keep the version.
    pub async fn update_offer(
        &self,
        tenant: Tenant,
        id: OfferId,
        expected: Expected,
        change: impl FnOnce(&Offer) -> Result<OfferTerms, StoreError>,
    ) -> Result<Offer, StoreError> {
        let current = load(self.db(), tenant, id).await?;
        let expected_version = expected.check("offer", current.version)?;
        if current.status == OfferStatus::Archived {
            return Err(StoreError::conflict(
                "offer_archived",
                "an archived offer cannot be changed",
            ));
        }
        let terms = change(&current)?;
        if unchanged(&current.terms, &terms) {
            return Ok(current);
        }
        self.check_offer(current.partner_id, &terms).await?;
        self.write_offer(
            current.partner_id,
            id,
            current.status,
            &terms,
            expected_version + 1,
        )
        .await
    }

    /// Publishes, pauses or archives an offer, conditional on the state read.
    pub async fn act_on_offer(
        &self,
        tenant: Tenant,
        id: OfferId,
        action: OfferAction,
    ) -> Result<Offer, StoreError> {
        let current = load(self.db(), tenant, id).await?;
        let next = current.status.after(action).ok_or_else(|| {
            StoreError::conflict(
                "invalid_transition",
                format!(
                    "an offer that is {} cannot be {}",
                    current.status.as_str(),
                    action.as_str()
                ),
            )
        })?;
        if action == OfferAction::Publish {
            // Publishing re-checks the terms: a competing relation may have been declared
            // since the draft was made (an ended partnership has archived its offers).
            self.check_offer(current.partner_id, &current.terms).await?;
        }
        let result = offer::Entity::update_many()
            .set(offer::ActiveModel {
                status: Set(next.as_str().to_owned()),
                version: Set(current.version + 1),
                updated_at: Set(Utc::now()),
                ..Default::default()
            })
            .filter(offer::COLUMN.id.eq(id.0))
            .filter(offer::COLUMN.version.eq(current.version))
            .exec(self.db())
            .await?;
        if result.rows_affected == 0 {
            let now = load(self.db(), Tenant::All, id).await?;
            return Err(StoreError::Stale {
                entity: "offer",
                current: now.version,
            });
        }
        load(self.db(), tenant, id).await
    }

    /// Deletes a draft; offers that were ever published are archived instead, to keep history.
    pub async fn delete_offer(&self, tenant: Tenant, id: OfferId) -> Result<(), StoreError> {
        let current = load(self.db(), tenant, id).await?;
        if current.status != OfferStatus::Draft {
            return Err(StoreError::conflict(
                "offer_not_draft",
                "only draft offers can be deleted; archive it instead",
            ));
        }
        offer::Entity::delete_by_id(id.0).exec(self.db()).await?;
        Ok(())
    }
}
