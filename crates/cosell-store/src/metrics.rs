//! Partner metrics for a period, from the current attributions, through
//! `cosell_core::metrics`.

use std::collections::{BTreeMap, BTreeSet};

use cosell_core::metrics::{ConversionFacts, Credit, PartnerMetrics, Period, metrics};
use cosell_core::{Currency, PartnerId};
use sea_orm::{Condition, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::attribution::current_credit;
use crate::entities::{attribution_credit, conversion, refund};
use crate::journal::IN_CHUNK;
use crate::money::currency;
use crate::{Store, StoreError};

impl Store {
    /// `partner`'s metrics per currency over conversions that occurred in `period`:
    /// as a referrer (credited conversions) and as a merchant (its own orders).
    pub async fn partner_metrics(
        &self,
        partner: PartnerId,
        period: Period,
    ) -> Result<Vec<(Currency, PartnerMetrics)>, StoreError> {
        let credited: BTreeSet<Uuid> = attribution_credit::Entity::find()
            .filter(attribution_credit::COLUMN.partner_id.eq(partner.0))
            .filter(current_credit())
            .all(self.db())
            .await?
            .into_iter()
            .map(|c| c.conversion_id)
            .collect();
        let in_period = Condition::all()
            .add(conversion::COLUMN.occurred_at.gte(period.start))
            .add(conversion::COLUMN.occurred_at.lt(period.end));
        let mut rows = conversion::Entity::find()
            .filter(in_period.clone())
            .filter(conversion::COLUMN.merchant_id.eq(partner.0))
            .all(self.db())
            .await?;
        let credited: Vec<Uuid> = credited.into_iter().collect();
        for chunk in credited.chunks(IN_CHUNK) {
            rows.extend(
                conversion::Entity::find()
                    .filter(in_period.clone())
                    .filter(conversion::COLUMN.id.is_in(chunk.iter().copied()))
                    .filter(conversion::COLUMN.merchant_id.ne(partner.0))
                    .all(self.db())
                    .await?,
            );
        }
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let mut credits: BTreeMap<Uuid, Vec<Credit>> = BTreeMap::new();
        let mut refunded: BTreeMap<Uuid, i64> = BTreeMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            for c in attribution_credit::Entity::find()
                .filter(
                    attribution_credit::COLUMN
                        .conversion_id
                        .is_in(chunk.iter().copied()),
                )
                .filter(current_credit())
                .all(self.db())
                .await?
            {
                credits.entry(c.conversion_id).or_default().push(Credit {
                    partner_id: c.partner_id.into(),
                    attributed_minor: c.amount_minor,
                    commission_minor: c.commission_minor,
                });
            }
            for r in refund::Entity::find()
                .filter(refund::COLUMN.conversion_id.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                *refunded.entry(r.conversion_id).or_default() += r.amount_minor;
            }
        }
        let facts = rows
            .into_iter()
            .map(|c| {
                Ok(ConversionFacts {
                    merchant_id: c.merchant_id.into(),
                    currency: currency("conversions", &c.currency)?,
                    amount_minor: c.amount_minor,
                    refunded_minor: refunded.get(&c.id).copied().unwrap_or(0),
                    credits: credits.remove(&c.id).unwrap_or_default(),
                    customer_ref: c.customer_ref,
                    occurred_at: c.occurred_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(metrics(&facts, period)
            .into_iter()
            .filter(|((p, _), _)| *p == partner)
            .map(|((_, currency), m)| (currency, m))
            .collect())
    }
}
