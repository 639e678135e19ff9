//! Partnerships: invitations with commission terms, accepted, declined or ended by the parties.

use chrono::Utc;
use cosell_core::catalog::partnership::{PartnershipAction, PartnershipRuleError};
use cosell_core::catalog::{
    CommissionTerms, ExtraTerms, PartnerStatus, Partnership, PartnershipStatus,
};
use cosell_core::plugin::PluginRef;
use cosell_core::{PartnerId, PartnershipId};
use sea_orm::{
    ActiveValue::Set, Condition, EntityTrait, ExprTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::entities::partnership;
use crate::money::{currency, decimal, to_minor};
use crate::offers::archive_offers_anchored_on;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError, Tenant};

const TABLE: &str = "partnerships";

pub(crate) fn to_domain(m: partnership::Model) -> Result<Partnership, StoreError> {
    let currency = currency(TABLE, &m.currency)?;
    Ok(Partnership {
        id: PartnershipId(m.id),
        inviter_id: PartnerId(m.inviter_id),
        invitee_id: PartnerId(m.invitee_id),
        status: PartnershipStatus::parse(&m.status)
            .ok_or_else(|| StoreError::corrupt(TABLE, &m.status))?,
        terms: CommissionTerms {
            percent: m
                .commission_percent
                .as_deref()
                .map(|p| decimal(TABLE, p))
                .transpose()?,
            flat: m.commission_flat_minor.map(|f| currency.from_minor(f)),
            currency,
            attribution_window_days: m.attribution_window_days,
            hold_days: m.hold_days,
            extra: ExtraTerms {
                category_percent: json_column(&m.category_rates)?.unwrap_or_default(),
                tiers: json_column(&m.tiers)?.unwrap_or_default(),
                cap: m.cap_minor.map(|c| currency.from_minor(c)),
                model: json_column(&m.attribution_model)?,
                model_plugin: plugin_column(TABLE, m.attribution_plugin)?,
                commission_plugin: plugin_column(TABLE, m.commission_plugin)?,
                impressions: json_column(&m.impression_policy)?,
            },
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Reads an optional JSON text column of the extra terms.
fn json_column<T: serde::de::DeserializeOwned>(
    text: &Option<String>,
) -> Result<Option<T>, StoreError> {
    text.as_deref()
        .map(|t| serde_json::from_str(t).map_err(|e| StoreError::corrupt(TABLE, e)))
        .transpose()
}

/// Reads an optional plugin id column of `table`.
pub(crate) fn plugin_column(
    table: &'static str,
    text: Option<String>,
) -> Result<Option<PluginRef>, StoreError> {
    text.map(|t| PluginRef::try_from(t).map_err(|e| StoreError::corrupt(table, e)))
        .transpose()
}

/// Writes an optional value as JSON text; `None` and empty collections stay NULL.
fn to_json_column<T: serde::Serialize>(
    value: &T,
    empty: bool,
) -> Result<Option<String>, StoreError> {
    if empty {
        return Ok(None);
    }
    serde_json::to_string(value)
        .map(Some)
        .map_err(|e| StoreError::corrupt(TABLE, e))
}

fn between(a: PartnerId, b: PartnerId) -> Condition {
    Condition::any()
        .add(
            partnership::COLUMN
                .inviter_id
                .eq(a.0)
                .and(partnership::COLUMN.invitee_id.eq(b.0)),
        )
        .add(
            partnership::COLUMN
                .inviter_id
                .eq(b.0)
                .and(partnership::COLUMN.invitee_id.eq(a.0)),
        )
}

impl From<PartnershipRuleError> for StoreError {
    fn from(e: PartnershipRuleError) -> Self {
        let code = match e {
            PartnershipRuleError::NotInvitee => "not_invitee",
            PartnershipRuleError::InvalidTransition { .. } => "invalid_transition",
            PartnershipRuleError::SelfInvite => "self_invite",
        };
        StoreError::conflict(code, e.to_string())
    }
}

impl Store {
    /// `inviter` invites `invitee`; refused when the two already have an open partnership.
    pub async fn invite_partner(
        &self,
        inviter: PartnerId,
        invitee: PartnerId,
        terms: CommissionTerms,
    ) -> Result<Partnership, StoreError> {
        if inviter == invitee {
            return Err(PartnershipRuleError::SelfInvite.into());
        }
        let invited = self.get_partner(Tenant::All, invitee).await?;
        if invited.status != PartnerStatus::Active {
            return Err(StoreError::conflict(
                "partner_suspended",
                "the invited partner is suspended",
            ));
        }
        let open = partnership::Entity::find()
            .filter(between(inviter, invitee))
            .filter(partnership::COLUMN.status.is_in([
                PartnershipStatus::Invited.as_str(),
                PartnershipStatus::Active.as_str(),
            ]))
            .one(self.db())
            .await?;
        if let Some(open) = open {
            return Err(StoreError::conflict(
                "partnership_exists",
                format!(
                    "these partners already have an open partnership ({}, {})",
                    open.id, open.status
                ),
            ));
        }
        let now = Utc::now();
        let row = partnership::ActiveModel {
            id: Set(PartnershipId::new().0),
            inviter_id: Set(inviter.0),
            invitee_id: Set(invitee.0),
            status: Set(PartnershipStatus::Invited.as_str().to_owned()),
            commission_percent: Set(terms.percent.map(|p| p.to_string())),
            commission_flat_minor: Set(terms
                .flat
                .map(|f| to_minor(TABLE, terms.currency, f))
                .transpose()?),
            currency: Set(terms.currency.code().to_owned()),
            attribution_window_days: Set(terms.attribution_window_days),
            hold_days: Set(terms.hold_days),
            category_rates: Set(to_json_column(
                &terms.extra.category_percent,
                terms.extra.category_percent.is_empty(),
            )?),
            tiers: Set(to_json_column(
                &terms.extra.tiers,
                terms.extra.tiers.is_empty(),
            )?),
            cap_minor: Set(terms
                .extra
                .cap
                .map(|c| to_minor(TABLE, terms.currency, c))
                .transpose()?),
            attribution_model: Set(to_json_column(
                &terms.extra.model,
                terms.extra.model.is_none(),
            )?),
            impression_policy: Set(to_json_column(
                &terms.extra.impressions,
                terms.extra.impressions.is_none(),
            )?),
            attribution_plugin: Set(terms.extra.model_plugin.clone().map(String::from)),
            commission_plugin: Set(terms.extra.commission_plugin.clone().map(String::from)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        to_domain(
            partnership::Entity::insert(row)
                .exec_with_returning(self.db())
                .await?,
        )
    }

    /// A partnership `tenant` is part of.
    pub async fn get_partnership(
        &self,
        tenant: Tenant,
        id: PartnershipId,
    ) -> Result<Partnership, StoreError> {
        let m = partnership::Entity::find_by_id(id.0)
            .at_most_one_row(self.db())
            .await?
            .ok_or(StoreError::NotFound("partnership"))?;
        let p = to_domain(m)?;
        match tenant {
            Tenant::Partner(own) if !p.involves(own) => Err(StoreError::NotFound("partnership")),
            _ => Ok(p),
        }
    }

    /// Partnerships `tenant` is part of, optionally in one status, oldest first.
    pub async fn list_partnerships(
        &self,
        tenant: Tenant,
        status: Option<PartnershipStatus>,
    ) -> Result<Vec<Partnership>, StoreError> {
        let mut query = partnership::Entity::find().order_by_asc(partnership::COLUMN.id);
        if let Tenant::Partner(own) = tenant {
            query = query.filter(
                Condition::any()
                    .add(partnership::COLUMN.inviter_id.eq(own.0))
                    .add(partnership::COLUMN.invitee_id.eq(own.0)),
            );
        }
        if let Some(status) = status {
            query = query.filter(partnership::COLUMN.status.eq(status.as_str()));
        }
        query
            .all(self.db())
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Applies a party's action. The update is conditional on the status read, so two
    /// racing actions cannot both succeed. Ending a partnership archives, in the same
    /// transaction, the invitee's offers on the inviter's products: only this partnership
    /// allowed them (one open partnership per pair).
    pub async fn act_on_partnership(
        &self,
        actor: PartnerId,
        id: PartnershipId,
        action: PartnershipAction,
    ) -> Result<Partnership, StoreError> {
        let current = self.get_partnership(Tenant::Partner(actor), id).await?;
        let next = current.transition(actor, action)?;
        let txn = self.db().begin().await?;
        let result = partnership::Entity::update_many()
            .set(partnership::ActiveModel {
                status: Set(next.as_str().to_owned()),
                version: Set(current.version + 1),
                updated_at: Set(Utc::now()),
                ..Default::default()
            })
            .filter(partnership::COLUMN.id.eq(id.0))
            .filter(partnership::COLUMN.version.eq(current.version))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            drop(txn);
            let now = self.get_partnership(Tenant::All, id).await?;
            return Err(StoreError::Stale {
                entity: "partnership",
                current: now.version,
            });
        }
        if next == PartnershipStatus::Ended {
            archive_offers_anchored_on(&txn, current.invitee_id, current.inviter_id).await?;
        }
        txn.commit().await?;
        self.get_partnership(Tenant::All, id).await
    }

    /// Whether `merchant` pays `referrer` through an active partnership: the inviter
    /// pays the invitee, so only a partnership `merchant` invited `referrer` to counts
    /// (the one attribution credits).
    pub async fn partnership_pays(
        &self,
        merchant: PartnerId,
        referrer: PartnerId,
    ) -> Result<bool, StoreError> {
        self.any_active(
            Condition::all()
                .add(partnership::COLUMN.inviter_id.eq(merchant.0))
                .add(partnership::COLUMN.invitee_id.eq(referrer.0)),
        )
        .await
    }

    /// Whether `a` and `b` have an active partnership, in either direction.
    pub async fn partnership_active(&self, a: PartnerId, b: PartnerId) -> Result<bool, StoreError> {
        self.any_active(between(a, b)).await
    }

    /// Whether an active partnership meets `pair`.
    async fn any_active(&self, pair: Condition) -> Result<bool, StoreError> {
        let found = partnership::Entity::find()
            .filter(pair)
            .filter(
                partnership::COLUMN
                    .status
                    .eq(PartnershipStatus::Active.as_str()),
            )
            .one(self.db())
            .await?;
        Ok(found.is_some())
    }
}
