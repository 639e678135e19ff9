//! Customer profiles per merchant (the recommender's guardrails) and the impressions each
//! answer showed, which the 7-day contact cap counts.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use cosell_core::attribution::TouchpointKind;
use cosell_core::{BundleId, Currency, OfferId, PartnerId, ProductId, ValidationErrors};
use cosell_reco::{
    Channel, CustomerProfile, CustomerRelationship, Impression, Satisfaction, Subject,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{
    ActiveValue::Set, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait, TryIntoModel,
};
use serde::{Deserialize, Serialize};

use crate::attribution::kind_str;
use crate::customer_figures::CustomerFigures;
use crate::customer_figures::FIGURES_WINDOW_DAYS;
use crate::customer_lookup::{impressions_since, known_customer, purchases_since};
use crate::entities::{customer, recommendation_impression, touchpoint};
use crate::expected::unchanged;
use crate::money::{currency, decimal, to_minor};
use crate::single_row::AtMostOneRow;
use crate::{Expected, Store, StoreError};

const TABLE: &str = "customers";

/// How far back shown recommendations count against the contact cap.
pub const CONTACT_WINDOW_DAYS: i64 = 7;

/// What a merchant declares about one of its customers.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerFields {
    pub satisfaction: Satisfaction,
    /// Channels the customer agreed to receive offers on.
    pub consents: Vec<Channel>,
    pub preferred_channel: Option<Channel>,
    /// Share of purchases returned, 0 to 1; `None`: computed from conversions and refunds.
    pub return_rate: Option<Decimal>,
    pub currency: Currency,
    /// What serving the account costs, over the same period as `revenue`; `None`: computed.
    pub service_cost: Option<Decimal>,
    /// `None`: computed.
    pub revenue: Option<Decimal>,
    /// Eligibility attributes (region, age band, verified, ...).
    pub attributes: BTreeMap<String, String>,
    /// Relationships with partners that may rule their offers out (e.g. `auditor`).
    pub relationships: Vec<CustomerRelationship>,
    /// Products the customer already owns: never recommended again.
    pub purchased: Vec<ProductId>,
}

impl CustomerFields {
    /// What is assumed of a customer the merchant declared nothing about: satisfied,
    /// reachable on the web only (no consent to be emailed or called), figures computed.
    fn undeclared(currency: Currency) -> Self {
        CustomerFields {
            satisfaction: Satisfaction::Ok,
            consents: vec![Channel::Web],
            preferred_channel: None,
            return_rate: None,
            currency,
            service_cost: None,
            revenue: None,
            attributes: BTreeMap::new(),
            relationships: Vec::new(),
            purchased: Vec::new(),
        }
    }

    /// The rules a profile must meet before it is stored.
    fn check(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self
            .return_rate
            .is_some_and(|r| !(Decimal::ZERO..=Decimal::ONE).contains(&r))
        {
            errors.push("return_rate", "must be between 0 and 1");
        }
        for (field, amount) in [
            ("service_cost", self.service_cost),
            ("revenue", self.revenue),
        ] {
            if let Some(amount) = amount {
                errors.take(self.currency.parse_amount(field, amount));
            }
        }
        if self.attributes.len() > 50 {
            errors.push("attributes", "at most 50 attributes");
        }
        // Fields are named as the API body names them, each bad entry by its index.
        for (i, relationship) in self.relationships.iter().enumerate() {
            if relationship.kind.trim().is_empty() {
                errors.push(
                    format!("relationships[{i}].kind"),
                    "a relationship needs a kind",
                );
            }
        }
        if self.purchased.len() > 1000 {
            errors.push("purchased_product_ids", "at most 1000 products");
        }
        errors.into_result()
    }
}

/// One recommendation an answer showed: the reference a later sale carries, and what the
/// contact cap and per-offer caps count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownImpression {
    pub id: uuid::Uuid,
    pub merchant: PartnerId,
    /// Absent for an anonymous visitor.
    pub customer_ref: Option<String>,
    pub subject: Subject,
    pub offer: Option<ShownOffer>,
    pub shown_at: DateTime<Utc>,
}

/// The partner offer an impression showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownOffer {
    pub id: OfferId,
    /// The partner selling through the offer: the one a sale that follows may credit.
    pub partner: PartnerId,
}

impl ShownImpression {
    /// Whether anything of it is stored: a customer's impression (the caps count it), or a
    /// partner offer's showing (the partner's touchpoint). An anonymous visitor's item of
    /// the merchant's own catalog is read by no rule, so it is not written at all.
    pub fn is_stored(&self) -> bool {
        self.customer_ref.is_some() || self.offer.is_some()
    }

    fn subject_id(&self) -> uuid::Uuid {
        match self.subject {
            Subject::Product(ProductId(p)) => p,
            Subject::Bundle(BundleId(b)) => b,
        }
    }
}

/// A stored customer profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub merchant_id: PartnerId,
    /// The merchant's own reference for the customer.
    pub reference: String,
    pub fields: CustomerFields,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A relationship as stored in the JSON column.
#[derive(Serialize, Deserialize)]
struct StoredRelationship {
    partner_id: uuid::Uuid,
    kind: String,
}

/// A channel's stored (and API) name.
pub fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Web => "web",
        Channel::Email => "email",
        Channel::Phone => "phone",
    }
}

fn parse_channel(s: &str) -> Result<Channel, StoreError> {
    [Channel::Web, Channel::Email, Channel::Phone]
        .into_iter()
        .find(|c| channel_name(*c) == s)
        .ok_or_else(|| StoreError::corrupt(TABLE, format!("channel {s}")))
}

/// A satisfaction state's stored (and API) name.
pub fn satisfaction_name(s: Satisfaction) -> &'static str {
    match s {
        Satisfaction::Ok => "ok",
        Satisfaction::OpenComplaint => "open_complaint",
        Satisfaction::AtRisk => "at_risk",
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(TABLE, e))
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(TABLE, e))
}

fn to_domain(m: customer::Model) -> Result<Customer, StoreError> {
    let currency = currency(TABLE, &m.currency)?;
    let satisfaction = [
        Satisfaction::Ok,
        Satisfaction::OpenComplaint,
        Satisfaction::AtRisk,
    ]
    .into_iter()
    .find(|s| satisfaction_name(*s) == m.satisfaction)
    .ok_or_else(|| StoreError::corrupt(TABLE, &m.satisfaction))?;
    let relationships: Vec<StoredRelationship> = from_json(&m.relationships)?;
    let purchased: Vec<uuid::Uuid> = from_json(&m.purchased)?;
    Ok(Customer {
        merchant_id: PartnerId(m.merchant_id),
        reference: m.reference,
        fields: CustomerFields {
            satisfaction,
            consents: m
                .consents
                .split(',')
                .filter(|c| !c.is_empty())
                .map(parse_channel)
                .collect::<Result<_, _>>()?,
            preferred_channel: m
                .preferred_channel
                .as_deref()
                .map(parse_channel)
                .transpose()?,
            return_rate: m
                .return_rate_declared
                .then(|| decimal(TABLE, &m.return_rate))
                .transpose()?,
            currency,
            service_cost: m
                .service_cost_declared
                .then(|| currency.from_minor(m.service_cost_minor)),
            revenue: m
                .revenue_declared
                .then(|| currency.from_minor(m.revenue_minor)),
            attributes: from_json(&m.attributes)?,
            relationships: relationships
                .into_iter()
                .map(|r| CustomerRelationship {
                    partner: PartnerId(r.partner_id),
                    kind: r.kind,
                })
                .collect(),
            purchased: purchased.into_iter().map(ProductId).collect(),
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl Store {
    async fn find_customer(
        &self,
        merchant: PartnerId,
        reference: &str,
    ) -> Result<Option<customer::Model>, StoreError> {
        // (merchant_id, reference) is unique.
        Ok(customer::Entity::find()
            .filter(customer::COLUMN.merchant_id.eq(merchant.0))
            .filter(customer::COLUMN.reference.eq(reference))
            .at_most_one_row(self.db())
            .await?)
    }

    /// Creates or replaces the merchant's profile of `reference`; `true` when it is new.
    /// With `expected_version` (the client's `If-Match`) it only replaces that version:
    /// another is stale, and a profile that does not exist is not found. A profile sent
    /// as it is stored writes nothing and keeps its version.
    pub async fn put_customer(
        &self,
        merchant: PartnerId,
        reference: &str,
        fields: CustomerFields,
        expected_version: Option<Expected>,
    ) -> Result<(Customer, bool), StoreError> {
        fields.check()?;
        let existing = self.find_customer(merchant, reference).await?;
        if let Some(expected) = expected_version {
            let current = existing.as_ref().ok_or(StoreError::NotFound("customer"))?;
            expected.check("customer", current.version)?;
        }
        let now = Utc::now();
        let mut consents: Vec<&str> = fields.consents.iter().map(|c| channel_name(*c)).collect();
        consents.sort_unstable();
        consents.dedup();
        let relationships: Vec<StoredRelationship> = fields
            .relationships
            .iter()
            .map(|r| StoredRelationship {
                partner_id: r.partner.0,
                kind: r.kind.clone(),
            })
            .collect();
        let purchased: Vec<uuid::Uuid> = fields.purchased.iter().map(|p| p.0).collect();
        // A figure left out is stored as 0 and flagged as not declared.
        let minor =
            |amount: Option<Decimal>| to_minor(TABLE, fields.currency, amount.unwrap_or_default());
        let row = customer::ActiveModel {
            id: Set(existing.as_ref().map_or_else(uuid::Uuid::now_v7, |e| e.id)),
            merchant_id: Set(merchant.0),
            reference: Set(reference.to_owned()),
            satisfaction: Set(satisfaction_name(fields.satisfaction).to_owned()),
            consents: Set(consents.join(",")),
            preferred_channel: Set(fields.preferred_channel.map(|c| channel_name(c).to_owned())),
            return_rate: Set(fields
                .return_rate
                .unwrap_or_default()
                .normalize()
                .to_string()),
            return_rate_declared: Set(fields.return_rate.is_some()),
            currency: Set(fields.currency.code().to_owned()),
            service_cost_minor: Set(minor(fields.service_cost)?),
            service_cost_declared: Set(fields.service_cost.is_some()),
            revenue_minor: Set(minor(fields.revenue)?),
            revenue_declared: Set(fields.revenue.is_some()),
            attributes: Set(json(&fields.attributes)?),
            relationships: Set(json(&relationships)?),
            purchased: Set(json(&purchased)?),
            version: Set(existing.as_ref().map_or(1, |e| e.version + 1)),
            created_at: Set(existing.as_ref().map_or(now, |e| e.created_at)),
            updated_at: Set(now),
        };
        if let Some(stored) = &existing {
            let next = customer::Model {
                version: stored.version,
                updated_at: stored.updated_at,
                ..row.clone().try_into_model()?
            };
            if unchanged(stored, &next) {
                return Ok((to_domain(stored.clone())?, false));
            }
        }
        let created = existing.is_none();
        let stored = if created {
            customer::Entity::insert(row)
                .exec_with_returning(self.db())
                .await
                .map_err(StoreError::on_unique(
                    "customer_exists",
                    "the customer was created by a concurrent request; retry",
                ))?
        } else {
            // Conditional on the version read, so a concurrent change between the read and
            // this write is not lost when the client asked for that version.
            let read = existing.as_ref().map_or(0, |e| e.version);
            let mut query = customer::Entity::update_many()
                .set(row)
                .filter(customer::COLUMN.merchant_id.eq(merchant.0))
                .filter(customer::COLUMN.reference.eq(reference));
            if expected_version.is_some() {
                query = query.filter(customer::COLUMN.version.eq(read));
            }
            if query.exec(self.db()).await?.rows_affected == 0 {
                let now = self.find_customer(merchant, reference).await?;
                return Err(StoreError::Stale {
                    entity: "customer",
                    current: now.map_or(0, |c| c.version),
                });
            }
            self.find_customer(merchant, reference)
                .await?
                .ok_or(StoreError::NotFound("customer"))?
        };
        Ok((to_domain(stored)?, created))
    }

    /// The merchant's profile of `reference`; another merchant's is not found.
    pub async fn get_customer(
        &self,
        merchant: PartnerId,
        reference: &str,
    ) -> Result<Customer, StoreError> {
        self.find_customer(merchant, reference)
            .await?
            .ok_or(StoreError::NotFound("customer"))
            .and_then(to_domain)
    }

    /// What the recommender knows of the customer: the profile (with the figures the
    /// merchant left out computed from conversions and refunds, see [`CustomerFigures`]),
    /// the products bought in the merchant's conversions besides the declared ones, and
    /// the impressions of the last 7 days before `now`, the stored ones and those of
    /// `unflushed` (recorded but maybe not yet written; one both stored and unflushed
    /// counts once). A reference the merchant has no profile of is still that customer:
    /// its caps and purchases count, its figures are computed in `currency`, and with no
    /// consent given it may be shown offers on the web only, as an anonymous visitor.
    pub async fn customer_profile(
        &self,
        merchant: PartnerId,
        reference: &str,
        currency: Currency,
        now: DateTime<Utc>,
        unflushed: &[ShownImpression],
    ) -> Result<CustomerProfile, StoreError> {
        let since = now - Duration::days(CONTACT_WINDOW_DAYS);
        let bought_since = now - Duration::days(FIGURES_WINDOW_DAYS);
        let known =
            known_customer(self.db(), merchant, reference, since, bought_since, now).await?;
        let (f, stored, bought) = match known {
            Some(k) => (to_domain(k.profile)?.fields, k.shown, k.bought),
            None => (
                CustomerFields::undeclared(currency),
                impressions_since(self.db(), merchant, reference, since).await?,
                purchases_since(self.db(), merchant, reference, bought_since, now).await?,
            ),
        };
        let figures = if f.return_rate.is_none() || f.service_cost.is_none() || f.revenue.is_none()
        {
            self.customer_figures(merchant, reference, f.currency, now)
                .await?
        } else {
            CustomerFigures::default()
        };
        let stored_ids: HashSet<uuid::Uuid> = stored.iter().map(|(id, ..)| *id).collect();
        let unflushed = unflushed.iter().filter(|i| {
            i.merchant == merchant
                && i.customer_ref.as_deref() == Some(reference)
                && i.shown_at > since
                && !stored_ids.contains(&i.id)
        });
        // A bundle's impression counts towards the cap; its id is never a product's.
        let shown_last_7_days = stored
            .iter()
            .map(|(_, subject, offer)| Impression {
                product: ProductId(*subject),
                offer: offer.map(OfferId),
            })
            .chain(unflushed.map(|i| Impression {
                product: ProductId(i.subject_id()),
                offer: i.offer.map(|o| o.id),
            }))
            .collect();
        Ok(CustomerProfile {
            satisfaction: f.satisfaction,
            consents: f.consents.into_iter().collect(),
            preferred_channel: f.preferred_channel,
            return_rate: f
                .return_rate
                .unwrap_or_else(|| figures.return_rate())
                .to_f64()
                .unwrap_or(1.0),
            service_cost: f.service_cost.unwrap_or(figures.commission),
            revenue: f.revenue.unwrap_or_else(|| figures.revenue()),
            attributes: f.attributes.into_iter().collect(),
            relationships: f.relationships,
            shown_last_7_days,
            purchased: f
                .purchased
                .into_iter()
                .chain(bought.into_iter().map(ProductId))
                .collect(),
        })
    }

    /// Writes shown recommendations in one transaction, as multi-row inserts. A customer's
    /// items are impression rows, which the contact cap and the offers' caps count; an
    /// anonymous visitor has no caps, and its items are not stored as impressions. Each
    /// item shown through a partner offer, for a customer or not, is the offer's partner's
    /// impression touchpoint (event id `recommendation:<impression id>`, its click id the
    /// impression id), so a sale that follows, by the same customer reference or carrying
    /// the impression id as its click id, is attributed to the partner like any other
    /// touchpoint.
    pub async fn insert_impressions(&self, shown: &[ShownImpression]) -> Result<(), StoreError> {
        if shown.is_empty() {
            return Ok(());
        }
        let rows = shown.iter().filter(|i| i.customer_ref.is_some()).map(|i| {
            recommendation_impression::ActiveModel {
                id: Set(i.id),
                merchant_id: Set(i.merchant.0),
                customer_ref: Set(i.customer_ref.clone()),
                subject_id: Set(i.subject_id()),
                is_bundle: Set(matches!(i.subject, Subject::Bundle(_))),
                offer_id: Set(i.offer.map(|o| o.id.0)),
                shown_at: Set(i.shown_at),
            }
        });
        let touchpoints = shown.iter().filter_map(|i| {
            let offer = i.offer?;
            Some(touchpoint::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                sender_id: Set(offer.partner.0),
                event_id: Set(format!("recommendation:{}", i.id)),
                partner_id: Set(offer.partner.0),
                offer_id: Set(Some(offer.id.0)),
                kind: Set(kind_str(TouchpointKind::Impression).to_owned()),
                customer_ref: Set(i.customer_ref.clone()),
                click_id: Set(Some(i.id.to_string())),
                bot: Set(false),
                occurred_at: Set(i.shown_at),
            })
        });
        let txn = self.db().begin().await?;
        crate::bulk::insert_all(&txn, rows.collect()).await?;
        crate::bulk::insert_all(&txn, touchpoints.collect()).await?;
        txn.commit().await?;
        Ok(())
    }

    /// How many impressions are stored for the merchant's customer `reference` (all time).
    pub async fn impression_count(
        &self,
        merchant: PartnerId,
        reference: &str,
    ) -> Result<u64, StoreError> {
        Ok(recommendation_impression::Entity::find()
            .filter(recommendation_impression::COLUMN.merchant_id.eq(merchant.0))
            .filter(recommendation_impression::COLUMN.customer_ref.eq(reference))
            .count(self.db())
            .await?)
    }
}
