//! Touchpoints: impressions, clicks and referrals reported in batches. Event ids are
//! unique per partner, so a repeated event is stored once and reported as a duplicate.
//! A batch is all or nothing unless the caller asks for partial acceptance.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_core::attribution::TouchpointKind;
use cosell_core::customer::check_customer_ref;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use uuid::Uuid;

use crate::attribution::{kind_str, parse_kind};
use crate::bulk::insert_new;
use crate::conversions::MAX_CLOCK_SKEW;
use crate::entities::{offer, partner, touchpoint};
use crate::journal::IN_CHUNK;
use crate::{Store, StoreError, Tenant};

/// One reported touchpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTouchpoint {
    pub event_id: String,
    pub partner_id: PartnerId,
    pub offer_id: Option<Uuid>,
    pub kind: String,
    pub customer_ref: Option<String>,
    pub click_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// Why one event was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    pub index: usize,
    pub event_id: String,
    /// Stable: `invalid_event_id`, `invalid_kind`, `unknown_partner`, `forbidden_partner`,
    /// `missing_customer`, `future_event`, `self_referral`, `unknown_offer`.
    pub code: &'static str,
    pub message: String,
}

/// The outcome of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Events stored now.
    pub accepted: usize,
    /// Event ids stored before (or twice in this batch): accepted once, not again.
    pub duplicates: Vec<String>,
    pub rejected: Vec<EventError>,
    /// False when a refused event stopped an all-or-nothing batch.
    pub stored: bool,
}

/// What checking a batch needs to know: the partners and offers it names.
struct Known {
    partners: BTreeMap<Uuid, partner::Model>,
    offers: BTreeMap<Uuid, Uuid>,
}

fn check(
    tenant: Tenant,
    e: &NewTouchpoint,
    known: &Known,
    now: DateTime<Utc>,
) -> Result<TouchpointKind, (&'static str, String)> {
    if e.event_id.is_empty() || e.event_id.len() > 200 {
        return Err((
            "invalid_event_id",
            "event_id must be 1 to 200 characters".into(),
        ));
    }
    let kind = parse_kind(&e.kind).ok_or_else(|| {
        (
            "invalid_kind",
            format!(
                "kind must be impression, click or referral, not '{}'",
                e.kind
            ),
        )
    })?;
    if !tenant.sees(e.partner_id) {
        return Err((
            "forbidden_partner",
            "a partner reports only its own touchpoints".into(),
        ));
    }
    let partner = known
        .partners
        .get(&e.partner_id.0)
        .ok_or(("unknown_partner", format!("no partner {}", e.partner_id)))?;
    if e.customer_ref.is_none() && e.click_id.is_none() {
        return Err((
            "missing_customer",
            "give a customer_ref, a click_id or both".into(),
        ));
    }
    // A blank reference matches no conversion (a conversion refuses a blank customer),
    // so the touchpoint could never earn anything: refused like a missing one. Otherwise
    // both follow the one rule for a customer reference, so a touchpoint can always name
    // the customer a conversion or a profile names.
    for (field, value) in [("customer_ref", &e.customer_ref), ("click_id", &e.click_id)] {
        let Some(value) = value.as_deref() else {
            continue;
        };
        if value.trim().is_empty() {
            return Err((
                "missing_customer",
                format!("{field} must not be blank: leave it out or give a value"),
            ));
        }
        check_customer_ref(field, value).map_err(|e| ("invalid_customer_ref", e.to_string()))?;
    }
    if e.occurred_at > now + MAX_CLOCK_SKEW {
        return Err((
            "future_event",
            "occurred_at is more than 5 minutes in the future".into(),
        ));
    }
    let own = |r: &str| r == partner.slug || r == partner.id.to_string();
    if kind == TouchpointKind::Referral && e.customer_ref.as_deref().is_some_and(own) {
        return Err(("self_referral", "a partner cannot refer itself".into()));
    }
    if let Some(o) = e.offer_id
        && known.offers.get(&o) != Some(&e.partner_id.0)
    {
        return Err((
            "unknown_offer",
            format!("offer {o} is not one of the partner's offers"),
        ));
    }
    Ok(kind)
}

/// A batch checked and turned into rows, not stored yet ([`Store::store_touchpoints`]).
/// Nothing in it depends on what is stored, so the next batch can be checked while this
/// one is written.
pub struct CheckedTouchpoints {
    report: IngestReport,
    /// Whether the rows are to be stored: not when a refused event stops the batch.
    store: bool,
    rows: Vec<touchpoint::ActiveModel>,
    /// (index, row id, event id) of each event in `rows`, in the batch's order.
    candidates: Vec<(usize, Uuid, String)>,
    /// (index, event id) of each event the batch itself repeats.
    repeated: Vec<(usize, String)>,
}

impl Store {
    /// Checks and stores a batch of touchpoints for `tenant` with one query for what
    /// the batch names and one insert that skips and reports the duplicates.
    pub async fn ingest_touchpoints(
        &self,
        tenant: Tenant,
        events: &[NewTouchpoint],
        partial: bool,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, StoreError> {
        let checked = self.check_touchpoints(tenant, events, partial, now).await?;
        self.store_touchpoints(checked).await
    }

    /// The first half of [`Store::ingest_touchpoints`]: what the batch names is read, each
    /// event checked, the new ones made rows.
    pub async fn check_touchpoints(
        &self,
        tenant: Tenant,
        events: &[NewTouchpoint],
        partial: bool,
        now: DateTime<Utc>,
    ) -> Result<CheckedTouchpoints, StoreError> {
        let partner_ids: BTreeSet<Uuid> = events.iter().map(|e| e.partner_id.0).collect();
        let offer_ids: BTreeSet<Uuid> = events.iter().filter_map(|e| e.offer_id).collect();
        let known = Known {
            partners: partner::Entity::find()
                .filter(partner::COLUMN.id.is_in(partner_ids.iter().copied()))
                .all(self.db())
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect(),
            offers: offer::Entity::find()
                .filter(offer::COLUMN.id.is_in(offer_ids))
                .all(self.db())
                .await?
                .into_iter()
                .map(|o| (o.id, o.partner_id))
                .collect(),
        };
        let mut report = IngestReport::default();
        // Events the batch repeats are duplicates from their second occurrence on;
        // the insert tells which of the rest were stored before.
        let mut in_batch: BTreeSet<(Uuid, &str)> = BTreeSet::new();
        let mut rows = Vec::with_capacity(events.len());
        let mut candidates = Vec::with_capacity(events.len());
        let mut repeated = Vec::new();
        for (index, e) in events.iter().enumerate() {
            let kind = match check(tenant, e, &known, now) {
                Ok(kind) => kind,
                Err((code, message)) => {
                    report.rejected.push(EventError {
                        index,
                        event_id: e.event_id.clone(),
                        code,
                        message,
                    });
                    continue;
                }
            };
            if !in_batch.insert((e.partner_id.0, &e.event_id)) {
                repeated.push((index, e.event_id.clone()));
                continue;
            }
            let id = Uuid::now_v7();
            candidates.push((index, id, e.event_id.clone()));
            rows.push(touchpoint::ActiveModel {
                id: Set(id),
                sender_id: Set(e.partner_id.0),
                event_id: Set(e.event_id.clone()),
                partner_id: Set(e.partner_id.0),
                offer_id: Set(e.offer_id),
                kind: Set(kind_str(kind).to_owned()),
                customer_ref: Set(e.customer_ref.clone()),
                click_id: Set(e.click_id.clone()),
                bot: Set(false),
                occurred_at: Set(e.occurred_at),
            });
        }
        Ok(CheckedTouchpoints {
            store: report.rejected.is_empty() || partial,
            report,
            rows,
            candidates,
            repeated,
        })
    }

    /// The second half of [`Store::ingest_touchpoints`]: stores the checked rows, unless a
    /// refused event stopped the batch, and reports the duplicates.
    pub async fn store_touchpoints(
        &self,
        checked: CheckedTouchpoints,
    ) -> Result<IngestReport, StoreError> {
        let CheckedTouchpoints {
            mut report,
            store,
            rows,
            candidates,
            repeated,
        } = checked;
        if !store {
            return Ok(report);
        }
        let ids: Vec<Uuid> = candidates.iter().map(|(_, id, _)| *id).collect();
        let skipped = self.insert_touchpoints(rows, &ids).await?;
        report.accepted = candidates.len() - skipped.len();
        let mut duplicates: Vec<(usize, String)> = candidates
            .into_iter()
            .filter(|(_, id, _)| skipped.contains(id))
            .map(|(index, _, event)| (index, event))
            .chain(repeated)
            .collect();
        duplicates.sort_unstable();
        report.duplicates = duplicates.into_iter().map(|(_, event)| event).collect();
        report.stored = true;
        Ok(report)
    }

    /// Inserts touchpoint rows (with the ids `ids`) in one transaction, skipping any whose
    /// event was stored before (or by a concurrent request); returns the ids of the rows
    /// skipped. Which ones were is read back only when the insert stored fewer rows than
    /// it was given.
    async fn insert_touchpoints(
        &self,
        rows: Vec<touchpoint::ActiveModel>,
        ids: &[Uuid],
    ) -> Result<BTreeSet<Uuid>, StoreError> {
        use touchpoint::Column::{EventId, SenderId};
        let txn = self.db().begin().await?;
        let inserted = insert_new(&txn, rows, &[SenderId, EventId]).await?;
        let mut skipped = BTreeSet::new();
        if usize::try_from(inserted).ok() != Some(ids.len()) {
            skipped.extend(ids.iter().copied());
            for chunk in ids.chunks(IN_CHUNK) {
                let stored: Vec<Uuid> = touchpoint::Entity::find()
                    .select_only()
                    .column(touchpoint::Column::Id)
                    .filter(touchpoint::COLUMN.id.is_in(chunk.iter().copied()))
                    .into_tuple()
                    .all(&txn)
                    .await?;
                for id in stored {
                    skipped.remove(&id);
                }
            }
        }
        txn.commit().await?;
        Ok(skipped)
    }
}
