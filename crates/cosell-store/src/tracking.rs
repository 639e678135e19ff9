//! Tracking links and the clicks on them. A click is also stored as a touchpoint of
//! the link's partner (event id `click:<click id>`), so attribution sees one kind of
//! record; a bot's click is kept, flagged, and never credited. A live link's
//! destination, label and offer can be changed under its version; its code, partner
//! and merchant never change, and an archived link is final.

use chrono::{DateTime, Utc};
use cosell_core::{OfferId, PartnerId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, EntityTrait, ExprTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::attribution::kind_str;
use crate::entities::{click, offer, touchpoint, tracking_link};
use crate::expected::unchanged;
use crate::single_row::AtMostOneRow;
use crate::{Expected, Store, StoreError, Tenant};

/// A link a partner shares; `/r/{code}` records a click and redirects to `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingLink {
    pub id: Uuid,
    pub code: String,
    pub partner_id: PartnerId,
    pub merchant_id: PartnerId,
    pub offer_id: Option<OfferId>,
    pub destination: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
}

/// What a partner asks for: a link to `merchant`'s `destination`, for one of its
/// offers or the partnership in general.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub merchant_id: PartnerId,
    pub offer_id: Option<OfferId>,
    /// An absolute http(s) URL, checked by the caller.
    pub destination: String,
    pub label: Option<String>,
}

/// Changes to a live link; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LinkChange {
    /// An absolute http(s) URL, checked by the caller.
    pub destination: Option<String>,
    /// `Some(None)` removes the label.
    pub label: Option<Option<String>>,
    /// `Some(None)`: the link is for the partnership in general from now on.
    pub offer_id: Option<Option<OfferId>>,
}

/// A recorded click and where to send the visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub click_id: String,
    pub destination: String,
}

/// A click as the redirect handler saw it; IP and user agent arrive hashed.
#[derive(Debug, Clone)]
pub struct ClickSeen {
    pub ip_hash: Option<String>,
    pub ua_hash: Option<String>,
    pub bot: bool,
    pub at: DateTime<Utc>,
}

fn to_domain(m: tracking_link::Model) -> TrackingLink {
    TrackingLink {
        id: m.id,
        code: m.code,
        partner_id: m.partner_id.into(),
        merchant_id: m.merchant_id.into(),
        offer_id: m.offer_id.map(OfferId),
        destination: m.destination,
        label: m.label,
        created_at: m.created_at,
        archived_at: m.archived_at,
        version: m.version,
    }
}

fn archived() -> StoreError {
    StoreError::conflict(
        "link_archived",
        "an archived tracking link cannot be changed",
    )
}

/// A short, unguessable code: 16 hex digits of a random uuid.
fn new_code() -> String {
    Uuid::new_v4().simple().to_string()[..16].to_owned()
}

impl Store {
    /// Creates a link for `partner`, whom the merchant must pay through an active
    /// partnership (the merchant invited the partner); an offer must be the partner's own.
    pub async fn create_tracking_link(
        &self,
        partner: PartnerId,
        new: NewLink,
    ) -> Result<TrackingLink, StoreError> {
        // A partnership the other way round pays the merchant, not this partner: every
        // click through such a link would be excluded as no_active_partnership.
        if !self.partnership_pays(new.merchant_id, partner).await? {
            return Err(StoreError::conflict(
                "no_active_partnership",
                "a link needs an active partnership in which the merchant invited you (the inviter pays the invitee)",
            ));
        }
        if let Some(o) = new.offer_id {
            self.own_offer(partner, o).await?;
        }
        let row = tracking_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            code: Set(new_code()),
            partner_id: Set(partner.0),
            merchant_id: Set(new.merchant_id.0),
            offer_id: Set(new.offer_id.map(|o| o.0)),
            destination: Set(new.destination),
            label: Set(new.label),
            created_at: Set(Utc::now()),
            archived_at: Set(None),
            version: Set(1),
        };
        Ok(to_domain(
            tracking_link::Entity::insert(row)
                .exec_with_returning(self.db())
                .await?,
        ))
    }

    /// The links `tenant` owns, oldest first.
    pub async fn list_tracking_links(
        &self,
        tenant: Tenant,
    ) -> Result<Vec<TrackingLink>, StoreError> {
        let mut query = tracking_link::Entity::find().order_by_asc(tracking_link::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(tracking_link::COLUMN.partner_id.eq(own.0));
        }
        Ok(query
            .all(self.db())
            .await?
            .into_iter()
            .map(to_domain)
            .collect())
    }

    /// One link `tenant` owns.
    pub async fn get_tracking_link(
        &self,
        tenant: Tenant,
        id: Uuid,
    ) -> Result<TrackingLink, StoreError> {
        tracking_link::Entity::find_by_id(id)
            .at_most_one_row(self.db())
            .await?
            .map(to_domain)
            .filter(|l| tenant.sees(l.partner_id))
            .ok_or(StoreError::NotFound("tracking link"))
    }

    /// An offer of `partner`'s, or not found.
    async fn own_offer(&self, partner: PartnerId, id: OfferId) -> Result<(), StoreError> {
        offer::Entity::find_by_id(id.0)
            .at_most_one_row(self.db())
            .await?
            .filter(|m| m.partner_id == partner.0)
            .map(|_| ())
            .ok_or(StoreError::NotFound("offer"))
    }

    /// Changes a live link `tenant` owns if it is the `expected` version. Clicks
    /// recorded before keep the offer they were recorded with. A change that leaves the
    /// destination, label and offer as they are writes nothing and keeps the version.
    pub async fn update_tracking_link(
        &self,
        tenant: Tenant,
        id: Uuid,
        expected: Expected,
        change: LinkChange,
    ) -> Result<TrackingLink, StoreError> {
        let link = self.get_tracking_link(tenant, id).await?;
        expected.check("tracking link", link.version)?;
        if link.archived_at.is_some() {
            return Err(archived());
        }
        let next = TrackingLink {
            destination: change
                .destination
                .clone()
                .unwrap_or(link.destination.clone()),
            label: change.label.clone().unwrap_or(link.label.clone()),
            offer_id: change.offer_id.unwrap_or(link.offer_id),
            ..link.clone()
        };
        if unchanged(&link, &next) {
            return Ok(link);
        }
        if let Some(Some(o)) = change.offer_id {
            self.own_offer(link.partner_id, o).await?;
        }
        let mut row = tracking_link::ActiveModel {
            version: Set(link.version + 1),
            ..Default::default()
        };
        if let Some(destination) = change.destination {
            row.destination = Set(destination);
        }
        if let Some(label) = change.label {
            row.label = Set(label);
        }
        if let Some(offer) = change.offer_id {
            row.offer_id = Set(offer.map(|o| o.0));
        }
        let done = tracking_link::Entity::update_many()
            .set(row)
            .filter(tracking_link::COLUMN.id.eq(id))
            .filter(tracking_link::COLUMN.version.eq(link.version))
            .filter(tracking_link::COLUMN.archived_at.is_null())
            .exec(self.db())
            .await?;
        let now = self.get_tracking_link(tenant, id).await?;
        if done.rows_affected == 0 {
            // Changed or archived since it was read.
            return Err(if now.archived_at.is_some() {
                archived()
            } else {
                StoreError::Stale {
                    entity: "tracking link",
                    current: now.version,
                }
            });
        }
        Ok(now)
    }

    /// Archives a link: its code stops redirecting; its clicks stay on record.
    pub async fn archive_tracking_link(
        &self,
        tenant: Tenant,
        id: Uuid,
    ) -> Result<TrackingLink, StoreError> {
        let link = self.get_tracking_link(tenant, id).await?;
        if link.archived_at.is_some() {
            return Ok(link);
        }
        tracking_link::Entity::update_many()
            .set(tracking_link::ActiveModel {
                archived_at: Set(Some(Utc::now())),
                ..Default::default()
            })
            .col_expr(
                tracking_link::Column::Version,
                Expr::col(tracking_link::Column::Version).add(1),
            )
            .filter(tracking_link::COLUMN.id.eq(id))
            .filter(tracking_link::COLUMN.archived_at.is_null())
            .exec(self.db())
            .await?;
        self.get_tracking_link(tenant, id).await
    }

    /// Records a click on the live link with `code`, as a click and a touchpoint in
    /// one transaction. `None` for an unknown or archived code: nothing is recorded.
    pub async fn record_click(
        &self,
        code: &str,
        seen: ClickSeen,
    ) -> Result<Option<Click>, StoreError> {
        let Some(link) = self.live_link(code).await? else {
            return Ok(None);
        };
        let click_id = Uuid::new_v4().simple().to_string();
        let txn = self.db().begin().await?;
        click::Entity::insert(click::ActiveModel {
            id: Set(Uuid::now_v7()),
            link_id: Set(link.id),
            partner_id: Set(link.partner_id),
            offer_id: Set(link.offer_id),
            click_id: Set(click_id.clone()),
            ip_hash: Set(seen.ip_hash),
            ua_hash: Set(seen.ua_hash),
            bot: Set(seen.bot),
            occurred_at: Set(seen.at),
        })
        .exec_without_returning(&txn)
        .await?;
        touchpoint::Entity::insert(touchpoint::ActiveModel {
            id: Set(Uuid::now_v7()),
            sender_id: Set(link.partner_id),
            event_id: Set(format!("click:{click_id}")),
            partner_id: Set(link.partner_id),
            offer_id: Set(link.offer_id),
            kind: Set(kind_str(cosell_core::attribution::TouchpointKind::Click).to_owned()),
            customer_ref: Set(None),
            click_id: Set(Some(click_id.clone())),
            bot: Set(seen.bot),
            occurred_at: Set(seen.at),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(Some(Click {
            click_id,
            destination: link.destination,
        }))
    }

    /// The destination of the live link with `code`, recording nothing: a `HEAD` from
    /// a link checker is not a visit.
    pub async fn link_destination(&self, code: &str) -> Result<Option<String>, StoreError> {
        Ok(self.live_link(code).await?.map(|l| l.destination))
    }

    /// The link with `code` unless it is archived.
    async fn live_link(&self, code: &str) -> Result<Option<tracking_link::Model>, StoreError> {
        Ok(tracking_link::Entity::find()
            .filter(tracking_link::COLUMN.code.eq(code))
            .filter(tracking_link::COLUMN.archived_at.is_null())
            .at_most_one_row(self.db())
            .await?)
    }
}
