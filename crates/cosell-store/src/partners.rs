//! Partners: created and suspended by operators, read by themselves.

use chrono::Utc;
use cosell_core::PartnerId;
use cosell_core::catalog::partner::NewPartner;
use cosell_core::catalog::{Email, Partner, PartnerStatus, Slug};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::partner;
use crate::single_row::AtMostOneRow;
use crate::{Page, Store, StoreError, Tenant, page};

const TABLE: &str = "partners";

fn to_domain(m: partner::Model) -> Result<Partner, StoreError> {
    Ok(Partner {
        id: PartnerId(m.id),
        name: m.name,
        slug: Slug::parse(&m.slug).map_err(|e| StoreError::corrupt(TABLE, e))?,
        status: PartnerStatus::parse(&m.status)
            .ok_or_else(|| StoreError::corrupt(TABLE, &m.status))?,
        contact_email: Email::parse(&m.contact_email).map_err(|e| StoreError::corrupt(TABLE, e))?,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl Store {
    pub async fn create_partner(&self, new: NewPartner) -> Result<Partner, StoreError> {
        let now = Utc::now();
        let slug = new.slug.as_str().to_owned();
        let row = partner::ActiveModel {
            id: Set(PartnerId::new().0),
            name: Set(new.name),
            slug: Set(slug.clone()),
            status: Set(PartnerStatus::Active.as_str().to_owned()),
            contact_email: Set(new.contact_email.as_str().to_owned()),
            default_attribution_model: Set(None),
            default_attribution_plugin: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let model = partner::Entity::insert(row)
            .exec_with_returning(self.db())
            .await
            .map_err(StoreError::on_unique(
                "slug_taken",
                format!("the slug '{slug}' is taken"),
            ))?;
        to_domain(model)
    }

    pub async fn get_partner(&self, tenant: Tenant, id: PartnerId) -> Result<Partner, StoreError> {
        if !tenant.sees(id) {
            return Err(StoreError::NotFound("partner"));
        }
        let model = partner::Entity::find_by_id(id.0)
            .at_most_one_row(self.db())
            .await?;
        model
            .map(to_domain)
            .transpose()?
            .ok_or(StoreError::NotFound("partner"))
    }

    /// Operators list every partner, oldest first, by cursor.
    pub async fn list_partners(
        &self,
        after: Option<uuid::Uuid>,
        limit: u64,
    ) -> Result<Page<Partner>, StoreError> {
        let mut query = partner::Entity::find()
            .order_by_asc(partner::COLUMN.id)
            .limit(limit + 1);
        if let Some(after) = after {
            query = query.filter(partner::COLUMN.id.gt(after));
        }
        let rows = query.all(self.db()).await?;
        let items = rows
            .into_iter()
            .map(to_domain)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(items, limit, |p| p.id.0))
    }

    /// Sets a partner's status. Suspension takes effect on the next request its tokens make.
    pub async fn set_partner_status(
        &self,
        id: PartnerId,
        status: PartnerStatus,
    ) -> Result<Partner, StoreError> {
        let current = self.get_partner(Tenant::All, id).await?;
        if current.status == status {
            return Ok(current);
        }
        let row = partner::ActiveModel {
            id: Set(id.0),
            status: Set(status.as_str().to_owned()),
            version: Set(current.version + 1),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        let model = partner::Entity::update(row).exec(self.db()).await?;
        to_domain(model)
    }
}
